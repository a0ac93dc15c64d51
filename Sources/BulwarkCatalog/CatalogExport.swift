public import BulwarkJSON

extension Catalog {
    /// The catalog as the JSON of SPEC §1 (`bulwark catalog export --format json`).
    ///
    /// Fields beyond the contract: `catalogVersion`, `globalConditionKeys`, and per
    /// service `title`, `updated`, `referencedActions` and `requestFields`; per action `description`.
    public func exportJSON() -> [UInt8] {
        var json = JSONWriter(reservingCapacity: 64 * 1024)
        json.beginObject()
        json.field("catalogVersion", version)
        json.key("services")
        json.beginArray()
        for service in services {
            json.beginObject()
            json.field("name", service.name)
            json.field("title", service.title)
            json.field("updated", service.updated)
            json.key("actions")
            json.beginArray()
            for action in service.actions {
                json.beginObject()
                json.field("name", action.name)
                json.field("accessLevel", action.accessLevel.rawValue)
                json.field("resourceTypes", action.resourceTypes)
                json.field("conditionKeys", action.conditionKeys)
                json.field("description", action.description)
                json.endObject()
            }
            json.endArray()
            json.key("apis")
            json.beginArray()
            for row in service.apis { row.write(into: &json) }
            json.endArray()
            json.key("resourceTypes")
            json.beginArray()
            for type in service.resourceTypes {
                json.beginObject()
                json.field("name", type.name)
                json.field("urn", type.urn)
                json.endObject()
            }
            json.endArray()
            json.key("conditionKeys")
            writeKeys(service.conditionKeys, into: &json)
            json.field("referencedActions", service.referencedActions)
            json.key("requestFields")
            json.beginArray()
            for field in service.requestFields {
                json.beginObject()
                json.field("name", field.name)
                json.field("apis", field.apis)
                json.endObject()
            }
            json.endArray()
            json.endObject()
        }
        json.endArray()
        json.key("globalConditionKeys")
        writeKeys(globalKeys, into: &json)
        json.endObject()
        json.newline()
        return json.bytes
    }

    private func writeKeys(_ keys: [ConditionKeyDefinition], into json: inout JSONWriter) {
        json.beginArray()
        for key in keys {
            json.beginObject()
            json.field("name", key.name)
            json.field("type", key.type.rawValue)
            json.field("multiValued", key.multiValued)
            if key.sensitive == true { json.field("sensitive", true) }
            json.endObject()
        }
        json.endArray()
    }
}

extension APIRow {
    /// `{"method", "path", "action", "dependencies", ["requiredOnly": {"id", "text"}]}` (SPEC §1).
    public func write(into json: inout JSONWriter) {
        json.beginObject()
        json.field("method", method)
        json.field("path", path)
        json.field("action", action)
        json.field("dependencies", dependencies)
        if let qualifier = requiredOnly {
            json.key("requiredOnly")
            json.beginObject()
            json.field("id", qualifier.id)
            json.field("text", qualifier.text)
            json.endObject()
        }
        json.endObject()
    }
}
