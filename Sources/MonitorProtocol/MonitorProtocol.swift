// MonitorProtocol: the agent port's wire format, as bytes in and bytes out.
//
// What it holds: the strict JSON reader and the line writer, the object splitter that cuts a
// stream into messages, the framing errors, the codec for both dialects (the native protocol and
// the report's format) and the messages themselves.
//
// What it may depend on: MonitorModel only. No NIO (the fuzzers compile it alone); the daemons
// put it into their pipelines.
