"""The web console in a real browser: headless Chromium from Debian's packages, driven with
Selenium, against `bulwark serve` on examples/workspace.

Run by scripts/console-tests.sh (in .ci/run), once on SQLite and once on PostgreSQL:
BULWARK_BIN, BULWARK_CONSOLE_STORE (a --store value, or empty for SQLite) and
BULWARK_SCREENSHOTS (where the screenshots go) come from there.
"""
import json
import os
import shutil
import subprocess
import tempfile
import time
import unittest
import urllib.error
import urllib.request

from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.common.exceptions import StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import Select, WebDriverWait

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BULWARK = os.environ.get("BULWARK_BIN", os.path.join(ROOT, ".build/release/bulwark"))
STORE = os.environ.get("BULWARK_CONSOLE_STORE", "")
SHOTS = os.environ.get("BULWARK_SCREENSHOTS", tempfile.gettempdir() + "/bulwark-console-screenshots")
PORT = int(os.environ.get("BULWARK_CONSOLE_PORT", "18560"))
BASE = f"http://127.0.0.1:{PORT}"
TOKEN = "console-test-admin-token"

BROKEN = """{
  "Version": "5.0",
  "Statement": [
    {
      "Effect": "Allow",
      "Action": ["ims:images:gett"],
      "Resource": ["*"]
    }
  ]
}"""
FIXED = BROKEN.replace("ims:images:gett", "ims:images:get").replace('["ims:images:get"]', '["ims:images:get", "ims:images:list"]')


def tid(name):
    return (By.CSS_SELECTOR, f'[data-testid="{name}"]')


def http(method, path, body=None, headers=None, opener=None):
    data = None if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
    request = urllib.request.Request(BASE + path, data=data, method=method, headers=headers or {})
    try:
        with (opener or urllib.request.build_opener()).open(request, timeout=10) as response:
            return response.status, dict(response.headers), response.read()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read()


class Console(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        os.makedirs(SHOTS, exist_ok=True)
        cls.folder = tempfile.mkdtemp()
        token_file = os.path.join(cls.folder, "token")
        with open(token_file, "w") as f:
            f.write(TOKEN + "\n")
        args = [BULWARK, "serve", "--port", str(PORT), "--admin-token-file", token_file, "--import", os.path.join(ROOT, "examples/workspace"),
                "--decision-log", "none", "--log-level", "warning"]
        if STORE:
            args += ["--store", STORE]
        env = dict(os.environ, BULWARK_DATA_DIR=os.path.join(cls.folder, "data"))
        cls.server = subprocess.Popen(args, env=env, stderr=open(os.path.join(cls.folder, "serve.log"), "w"))
        for _ in range(300):
            try:
                if http("GET", "/readyz")[0] == 200:
                    break
            except urllib.error.URLError:
                pass  # not listening yet
            time.sleep(0.05)
        options = Options()
        options.binary_location = "/usr/bin/chromium"
        for flag in ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1280,800"]:
            options.add_argument(flag)
        options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
        cls.driver = webdriver.Chrome(service=Service("/usr/bin/chromedriver"), options=options)
        # Lists are re-rendered as answers arrive: an element read mid-render is looked up again.
        cls.wait = WebDriverWait(cls.driver, 20, ignored_exceptions=[StaleElementReferenceException])

    @classmethod
    def tearDownClass(cls):
        cls.driver.quit()
        cls.server.terminate()
        cls.server.wait()
        shutil.rmtree(cls.folder)

    def shot(self, name):
        self.driver.save_screenshot(os.path.join(SHOTS, f"{name}.png"))

    def go(self, view):
        self.driver.find_element(By.CSS_SELECTOR, f'nav a[data-view="{view}"]').click()
        self.wait.until(EC.visibility_of_element_located((By.ID, f"view-{view}")))

    def type_into(self, element, text):
        element.click()
        element.send_keys(Keys.CONTROL, "a")
        element.send_keys(Keys.DELETE)
        element.send_keys(text)

    # The steps run in order (unittest sorts by name), as one administrator's session.

    def test_01_without_a_session_nothing_is_served_and_writes_need_the_csrf_token(self):
        status, headers, _ = http("GET", "/console/")
        self.assertEqual(status, 200)
        csp = headers["Content-Security-Policy"]
        self.assertIn("script-src 'self'", csp)
        self.assertNotIn("unsafe-inline", csp)
        self.assertIn("frame-ancestors 'none'", csp)
        self.assertEqual(http("GET", "/console/api/access?principal=iam::0a1b2c:user:alice")[0], 401)
        self.assertEqual(http("GET", "/v1/policies")[0], 401)
        # A form post (another site's page) cannot sign a browser in.
        self.assertEqual(http("POST", "/console/api/login", b"token=" + TOKEN.encode(),
                              {"Content-Type": "application/x-www-form-urlencoded"})[0], 415)
        status, headers, body = http("POST", "/console/api/login", {"token": TOKEN}, {"Content-Type": "application/json"})
        self.assertEqual(status, 200)
        cookie = headers["Set-Cookie"]
        self.assertIn("HttpOnly", cookie)
        self.assertIn("SameSite=Strict", cookie)
        session = cookie.split(";")[0]
        csrf = json.loads(body)["csrf"]
        version = {"document": FIXED, "setAsDefault": False}
        status, _, body = http("POST", "/v1/policies/image-readers/versions", version, {"Content-Type": "application/json", "Cookie": session})
        self.assertEqual(status, 403, body)
        self.assertEqual(json.loads(body)["error"]["code"], "csrf")
        status, _, _ = http("POST", "/v1/policies/image-readers/versions", version,
                            {"Content-Type": "application/json", "Cookie": session, "X-CSRF-Token": "0" * 64})
        self.assertEqual(status, 403)
        # The session reads; after sign-out it does not.
        self.assertEqual(http("GET", "/v1/policies", headers={"Cookie": session})[0], 200)
        self.assertEqual(http("POST", "/console/api/logout", {}, {"Content-Type": "application/json", "Cookie": session, "X-CSRF-Token": csrf})[0], 200)
        self.assertEqual(http("GET", "/v1/policies", headers={"Cookie": session})[0], 401)
        self.assertEqual(http("POST", "/console/api/login", {"token": "wrong"}, {"Content-Type": "application/json"})[0], 401)

    def test_02_sign_in_with_the_keyboard(self):
        self.driver.get(BASE + "/")
        token = self.wait.until(EC.visibility_of_element_located(tid("login-token")))
        self.assertFalse(self.driver.find_element(By.ID, "nav").is_displayed())  # nothing to navigate before sign-in
        self.assertFalse(self.driver.find_element(*tid("sign-out")).is_displayed())
        self.shot("login")
        token.send_keys(TOKEN, Keys.ENTER)
        self.wait.until(EC.visibility_of_element_located(tid("org-tree")))
        self.assertNotIn(TOKEN, self.driver.current_url)
        self.assertEqual(self.driver.current_url, BASE + "/console/#/org")
        cookie = self.driver.get_cookie("bulwark_session")
        self.assertTrue(cookie["httpOnly"])
        self.assertEqual(cookie["sameSite"], "Strict")
        self.assertEqual(self.driver.execute_script("return document.cookie"), "")  # scripts never see it

    def test_03_the_tree_and_a_principals_access(self):
        self.wait.until(lambda d: len(d.find_elements(*tid("org-node"))) >= 6)
        names = [n.text for n in self.driver.find_elements(*tid("org-node"))]
        self.assertEqual(sorted(names), ["dev", "engineering", "management", "playground", "root", "sandbox"])
        dev = next(n for n in self.driver.find_elements(*tid("org-node")) if n.text == "dev")
        dev.click()
        alice = self.wait.until(lambda d: next((p for p in d.find_elements(*tid("principal")) if p.text == "alice"), None))
        alice.click()
        access = self.wait.until(EC.text_to_be_present_in_element(tid("principal-access"), "iam::0a1b2c:user:alice"))
        self.assertTrue(access)
        text = self.driver.find_element(*tid("principal-access")).text
        self.assertIn("swr:repo:upload", text)  # through group developers' swr-team-push
        ci = next(p for p in self.driver.find_elements(*tid("principal")) if p.text == "ci")
        ci.click()
        self.wait.until(EC.text_to_be_present_in_element(tid("principal-access"), "via iam::0a1b2c:agency:ci-deployer"))
        self.shot("organization")

    def test_04_a_broken_policy_shows_its_findings_at_the_right_line_then_is_fixed_and_saved(self):
        self.go("policies")
        item = self.wait.until(lambda d: next((p for p in d.find_elements(*tid("policy-item")) if p.text.startswith("image-readers ")), None))
        item.click()
        self.wait.until(EC.text_to_be_present_in_element((By.ID, "editor-title"), "image-readers"))
        editor = self.driver.find_element(*tid("policy-editor"))
        self.type_into(editor, BROKEN)
        finding = self.wait.until(lambda d: next((f for f in d.find_elements(*tid("finding")) if f.get_attribute("data-code") == "UNKNOWN_ACTION"), None))
        self.assertEqual(finding.get_attribute("data-line"), "6")
        self.assertEqual(finding.get_attribute("data-column"), "18")
        self.assertIn("error", finding.text)
        self.assertIn("line 6, column 18", finding.text)
        marks = self.driver.find_elements(*tid("gutter-mark"))
        self.assertEqual([m.text for m in marks], ["6"])
        finding.find_element(*tid("finding-position")).click()  # the caret goes to the finding
        caret = self.driver.execute_script("const e = document.getElementById('policy-editor'); return e.value.slice(0, e.selectionStart).split('\\n')")
        self.assertEqual((len(caret), len(caret[-1]) + 1), (6, 18))
        self.shot("editor-findings")
        self.type_into(editor, FIXED)
        self.wait.until(EC.presence_of_element_located(tid("no-findings")))
        self.driver.find_element(*tid("policy-save")).click()
        self.wait.until(lambda d: len(d.find_elements(*tid("version"))) == 2)
        self.assertIn("(default)", self.driver.find_elements(*tid("version"))[1].text)
        self.assertIn("Saved image-readers as a new version", self.driver.find_element(By.ID, "status").text)
        # Roll back to v1, then forward again to v2.
        for target in ["v1", "v2"]:
            row = next(v for v in self.driver.find_elements(*tid("version")) if v.text.startswith(target))
            row.find_element(*tid("set-default")).click()
            self.wait.until(lambda d: any(v.text.startswith(target) and "(default)" in v.text for v in d.find_elements(*tid("version"))))
        # Live validation of a 6 KB policy: the round trip the page measured (a figure, not a pass/fail).
        statements = ",\n".join(
            f'    {{"Sid": "S{i}", "Effect": "Allow", "Action": ["ims:images:get", "ims:images:list"], "Resource": ["ims:*:0a1b2c:image:img-{i:04d}"]}}'
            for i in range(50))
        big = '{\n  "Version": "5.0",\n  "Statement": [\n' + statements + "\n  ]\n}"
        self.driver.execute_script("const e = document.getElementById('policy-editor'); e.value = arguments[0]; e.dispatchEvent(new Event('input'));", big)
        editor.send_keys(" ")
        self.wait.until(lambda d: d.find_element(By.ID, "validate-time").get_attribute("data-ms") and
                        d.execute_script("return document.getElementById('gutter').children.length") >= 50)
        times = []
        for _ in range(5):
            editor.send_keys(" ")
            time.sleep(0.3)
            times.append(float(self.driver.find_element(By.ID, "validate-time").get_attribute("data-ms")))
        print(f"\nconsole: live validation of a {len(big)}-byte policy: {sorted(times)[2]:.1f} ms median round trip (5 keystrokes)")

    def test_05_simulate_an_allowed_and_a_denied_request(self):
        self.go("simulate")
        self.type_into(self.driver.find_element(*tid("simulate-principal")), "iam::0a1b2c:user:bob")
        self.type_into(self.driver.find_element(*tid("simulate-action")), "ims:images:get")
        self.type_into(self.driver.find_element(*tid("simulate-resource")), "ims:cn-north-4:0a1b2c:image:img-1")
        self.driver.find_element(*tid("simulate-submit")).click()
        self.wait.until(EC.text_to_be_present_in_element(tid("decision"), "allow"))
        self.assertEqual(self.driver.find_element(*tid("decision")).text, "allow — allowed")
        determining = self.driver.find_elements(*tid("determining"))
        self.assertEqual([row.text.split()[0] for row in determining], ["image-readers"])
        self.shot("simulate")
        self.type_into(self.driver.find_element(*tid("simulate-action")), "ims:images:deleteImage")
        self.driver.find_element(*tid("simulate-submit")).click()
        self.wait.until(EC.text_to_be_present_in_element(tid("decision"), "deny"))
        self.assertEqual(self.driver.find_element(*tid("decision")).text, "deny — no_identity_allow")

    def test_06_compare_two_versions(self):
        self.go("compare")
        self.wait.until(lambda d: len(Select(d.find_element(By.ID, "compare-old-pick")).options) > 3)
        Select(self.driver.find_element(By.ID, "compare-old-pick")).select_by_value("policy:image-readers:v1")
        Select(self.driver.find_element(By.ID, "compare-new-pick")).select_by_value("policy:image-readers:v2")
        self.wait.until(lambda d: "ims:images:list" in d.find_element(By.ID, "compare-new").get_attribute("value"))
        self.wait.until(lambda d: "ReadImages" in d.find_element(By.ID, "compare-old").get_attribute("value"))
        self.driver.find_element(*tid("compare-submit")).click()
        regions = self.wait.until(lambda d: d.find_elements(*tid("diff-region")))
        sides = {(r.get_attribute("data-side"), r.text.split(": ", 1)[1].split("\n")[0]) for r in regions}
        # v1 allowed get on the account's images and list; v2 allows get and list everywhere.
        self.assertIn(("added", "ims:images:get"), sides)
        self.assertTrue(all(side == "added" for side, _ in sides), sides)
        self.shot("compare")

    def test_07_recent_decisions_filtered(self):
        self.go("decisions")
        rows = self.wait.until(lambda d: d.find_elements(*tid("decision-row")))
        self.assertGreaterEqual(len(rows), 2)
        Select(self.driver.find_element(By.ID, "filter-outcome")).select_by_value("deny")
        self.driver.execute_script("document.getElementById('filter-outcome').dispatchEvent(new Event('input'))")
        self.wait.until(lambda d: all("deny" in r.text for r in d.find_elements(*tid("decision-row"))))
        self.assertTrue(any("ims:images:deleteImage" in r.text for r in self.driver.find_elements(*tid("decision-row"))))
        self.shot("decisions")

    def test_08_readable_on_a_phone(self):
        self.driver.set_window_size(390, 844)
        try:
            self.go("org")
            self.wait.until(lambda d: len(d.find_elements(*tid("org-node"))) >= 6)
            overflow = self.driver.execute_script("return document.documentElement.scrollWidth - window.innerWidth")
            self.assertLessEqual(overflow, 1)
            self.shot("phone-organization")
        finally:
            self.driver.set_window_size(1280, 800)

    def test_09_no_content_security_policy_violations(self):
        messages = [entry["message"] for entry in self.driver.get_log("browser")]
        self.assertEqual([m for m in messages if "Content Security Policy" in m or "Refused" in m], [])

    def test_10_sign_out_ends_the_session(self):
        self.driver.find_element(*tid("sign-out")).click()
        self.wait.until(EC.visibility_of_element_located(tid("login-token")))
        self.driver.get(BASE + "/console/#/policies")
        self.wait.until(EC.visibility_of_element_located(tid("login-token")))
        self.assertFalse(self.driver.find_element(By.ID, "view-policies").is_displayed())
        self.assertFalse(self.driver.find_element(By.ID, "nav").is_displayed())


class ConsoleOverTLS(unittest.TestCase):
    def test_the_session_cookie_is_secure_over_tls(self):
        import ssl
        folder = tempfile.mkdtemp()
        try:
            subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", f"{folder}/key.pem", "-out", f"{folder}/cert.pem",
                            "-days", "1", "-subj", "/CN=127.0.0.1"], check=True, capture_output=True)
            with open(f"{folder}/token", "w") as f:
                f.write(TOKEN + "\n")
            port = PORT + 20
            server = subprocess.Popen([BULWARK, "serve", "--port", str(port), "--admin-token-file", f"{folder}/token", "--tls-cert", f"{folder}/cert.pem",
                                       "--tls-key", f"{folder}/key.pem", "--decision-log", "none", "--log-level", "warning"],
                                      env=dict(os.environ, BULWARK_DATA_DIR=f"{folder}/data"), stderr=subprocess.DEVNULL)
            try:
                context = ssl.create_default_context(cafile=f"{folder}/cert.pem")
                context.check_hostname = False
                request = urllib.request.Request(f"https://127.0.0.1:{port}/console/api/login", data=json.dumps({"token": TOKEN}).encode(),
                                                 method="POST", headers={"Content-Type": "application/json"})
                for _ in range(200):
                    try:
                        with urllib.request.urlopen(request, context=context, timeout=5) as response:
                            cookie = response.headers["Set-Cookie"]
                            break
                    except urllib.error.URLError:
                        time.sleep(0.05)
                self.assertIn("; Secure", cookie)
                self.assertIn("HttpOnly", cookie)
            finally:
                server.terminate()
                server.wait()
        finally:
            shutil.rmtree(folder)


if __name__ == "__main__":
    unittest.main(verbosity=2)
