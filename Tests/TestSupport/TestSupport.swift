// TestSupport: what the unit and end-to-end tests share, so that each helper exists once.
//
// What it holds: the promtool runner, the `/api/v1/agents` document as a client decodes it, the
// exposition parser, a seeded random number generator and temporary paths and directories.
//
// What it may depend on: Foundation only (the tests', never the daemons'); nothing of the product,
// so that the end-to-end tests, which see monitord only through its processes, can use it too.
