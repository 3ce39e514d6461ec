/// The store's records by name, kept in name order as agents come and go, so that a scrape of
/// `/metrics` walks them in the page's order without sorting ten thousand names each time.
///
/// Each record lives in a slot that keeps its number for the record's life (a freed slot is
/// reused by a later agent), and every change to a record stamps its slot with a new version,
/// unique in the store: a scrape that kept an agent's lines keyed by slot and version knows
/// whether they are still the agent's without comparing any figure (``RenderedAgentLines``).
/// Finding a record by name is one hash; adding or removing an agent moves the slot numbers
/// after it in the order (8 bytes each), which agents coming and going can afford.
struct NameOrderedRecords {
    private struct Slot {
        var name: String
        var record: AgentRecord
        var version: UInt64
    }

    private var slots: [Slot?] = []
    private var freeSlots: [Int] = []
    private var slotOfName: [String: Int] = [:]
    /// Slots by name, as `String`'s `<` orders them (which is what `/metrics` has always sorted by).
    private(set) var order: [Int] = []
    /// The last version given to a change; versions start at 1, so 0 is never a record's.
    private var lastVersion: UInt64 = 0

    var count: Int { slotOfName.count }

    func slot(of name: String) -> Int? { slotOfName[name] }

    subscript(name: String) -> AgentRecord? {
        slotOfName[name].map { slots[$0]!.record }
    }

    func name(at slot: Int) -> String { slots[slot]!.name }
    func record(at slot: Int) -> AgentRecord { slots[slot]!.record }
    func version(at slot: Int) -> UInt64 { slots[slot]!.version }

    /// Reads one record in place, without copying it (a copy retains its strings).
    func withRecord<Result>(at slot: Int, _ read: (borrowing AgentRecord) -> Result) -> Result {
        read(slots[slot]!.record)
    }

    /// Changes the record in `slot` in place and gives it a new version.
    mutating func modify<Result>(at slot: Int, _ change: (inout AgentRecord) -> Result) -> Result {
        lastVersion += 1
        slots[slot]!.version = lastVersion
        return change(&slots[slot]!.record)
    }

    /// Adds a record under a name not held yet, in its place in the order; returns its slot.
    mutating func insert(_ record: AgentRecord, named name: String) -> Int {
        precondition(slotOfName[name] == nil, "a name is held once")
        lastVersion += 1
        let entry = Slot(name: name, record: record, version: lastVersion)
        let slot: Int
        if let free = freeSlots.popLast() {
            slot = free
            slots[slot] = entry
        } else {
            slot = slots.count
            slots.append(entry)
        }
        slotOfName[name] = slot
        order.insert(slot, at: position(of: name))
        return slot
    }

    /// Removes the record held under `name`, if any, and returns it.
    @discardableResult
    mutating func remove(_ name: String) -> AgentRecord? {
        guard let slot = slotOfName.removeValue(forKey: name) else { return nil }
        let index = position(of: name)
        // Found by its name, but for names that `String`'s `<` cannot order (it finds "e\u{301}"
        // and "\u{e9}x" neither below nor above each other): then where it was put.
        order.remove(at: index < order.count && order[index] == slot ? index : order.firstIndex(of: slot)!)
        let record = slots[slot]!.record
        slots[slot] = nil
        freeSlots.append(slot)
        return record
    }

    /// Every record with its name, in name order.
    var inNameOrder: some Sequence<(name: String, record: AgentRecord)> {
        order.lazy.map { [slots] slot in (slots[slot]!.name, slots[slot]!.record) }
    }

    /// The first place in ``order`` whose name is not below `name`: where it is, or would go.
    private func position(of name: String) -> Int {
        var low = 0
        var high = order.count
        while low < high {
            let middle = (low + high) / 2
            if slots[order[middle]]!.name < name {
                low = middle + 1
            } else {
                high = middle
            }
        }
        return low
    }
}
