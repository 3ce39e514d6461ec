/// A minimal HTML writer for the status page: elements, attributes and text, nothing else.
///
/// Tag names, attribute names and raw markup are `StaticString`s, so they can only come from this source code;
/// every `String` that reaches the page (anything derived from a peer) goes through ``Escaping/html(_:)``. That makes
/// "forgot to escape" a type error rather than a review item, which is why there is no template engine here.
struct HTMLBuilder {
    /// An attribute whose value is escaped when written; `nil` values are omitted.
    struct Attribute {
        var name: StaticString
        var value: String?

        init(_ name: StaticString, _ value: String?) {
            self.name = name
            self.value = value
        }
    }

    private(set) var html = ""

    init(reservingCapacity capacity: Int = 4096) {
        html.reserveCapacity(capacity)
    }

    /// Markup written verbatim: the doctype, inline CSS and JavaScript, all fixed at compile time.
    mutating func raw(_ markup: StaticString) {
        html += markup.description
    }

    /// Escaped text content.
    mutating func text(_ text: String) {
        html += Escaping.html(text)
    }

    /// `<name attributes>content</name>`.
    mutating func element(
        _ name: StaticString, _ attributes: [Attribute] = [], _ content: (inout HTMLBuilder) -> Void = { _ in }
    ) {
        open(name, attributes)
        content(&self)
        html += "</\(name)>"
    }

    /// `<name attributes>escaped text</name>`.
    mutating func element(_ name: StaticString, _ attributes: [Attribute] = [], text: String) {
        element(name, attributes) { $0.text(text) }
    }

    /// A void element such as `<meta>`: no content, no end tag.
    mutating func void(_ name: StaticString, _ attributes: [Attribute] = []) {
        open(name, attributes)
    }

    private mutating func open(_ name: StaticString, _ attributes: [Attribute]) {
        html += "<\(name)"
        for attribute in attributes {
            guard let value = attribute.value else { continue }
            html += " \(attribute.name)=\"\(Escaping.html(value))\""
        }
        html += ">"
    }
}
