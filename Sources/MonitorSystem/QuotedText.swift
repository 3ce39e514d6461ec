extension StringProtocol {
    /// The text in double quotes for an error message, control characters and quotes escaped and cut
    /// after 60 characters, so that a binary file or a very long line cannot flood the journal.
    package var quoted: String {
        var result = "\""
        var count = 0
        for scalar in unicodeScalars {
            if count == 60 {
                result += "..."
                break
            }
            count += 1
            switch scalar {
            case "\"": result += "\\\""
            case "\\": result += "\\\\"
            case "\t": result += "\\t"
            case "\r": result += "\\r"
            case _ where scalar.value < 0x20 || scalar.value == 0x7F:
                result += "\\u{\(String(scalar.value, radix: 16))}"
            default: result.unicodeScalars.append(scalar)
            }
        }
        return result + "\""
    }
}
