// MonitorModel: the vocabulary every other module shares, and nothing else.
//
// What it holds: the `Sample` an agent takes and the gateway stores, the rule for agent names,
// durations and byte sizes as the configuration writes them, the wall clock, the metric family
// types both outputs (the exposition and remote write) are built from, and the version.
//
// What it may depend on: the Swift standard library and the C library. No NIO, no logging, no
// file access: everything here is a value or a pure function, so the fuzzers and every layer
// above can use it.
