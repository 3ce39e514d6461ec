/// The status page's inline stylesheet: readable in light and dark mode, state colours that work for
/// colour-blind readers too (every state is also written out).
enum StatusPageStyle {
    static let css: StaticString = #"""

        :root { color-scheme: light dark; --fg: #1d2330; --muted: #667085; --line: #d8dde6; --head: #f3f5f8;
          --up: #1a7f37; --late: #9a6700; --down: #cf222e; }
        @media (prefers-color-scheme: dark) {
          :root { --fg: #e6e9ef; --muted: #98a2b3; --line: #343b48; --head: #1e232c;
            --up: #3fb950; --late: #d29922; --down: #f85149; }
        }
        body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif;
          color: var(--fg); margin: 1.5rem 2rem; }
        header { display: flex; align-items: baseline; gap: 1.5rem; flex-wrap: wrap; }
        h1 { font-size: 1.4rem; margin: 0; }
        .version { color: var(--muted); font-weight: normal; font-size: 1rem; }
        nav a { margin-right: 1rem; color: inherit; }
        #counts { display: flex; gap: 1.5rem; margin: 1rem 0 .25rem; font-size: 1.05rem; }
        #counts b { font-size: 1.5rem; font-variant-numeric: tabular-nums; }
        .count-up b { color: var(--up); } .count-late b { color: var(--late); } .count-down b { color: var(--down); }
        #refresh { color: var(--muted); margin: 0 0 1rem; }
        #refresh.error { color: var(--down); }
        table { border-collapse: collapse; width: 100%; }
        th, td { padding: .35rem .6rem; border-bottom: 1px solid var(--line); text-align: left; white-space: nowrap; }
        th { background: var(--head); position: sticky; top: 0; }
        th button { all: unset; cursor: pointer; font-weight: 600; }
        th button:focus-visible { outline: 2px solid var(--muted); }
        th[aria-sort="ascending"] button::after { content: " \25B2"; font-size: .7em; }
        th[aria-sort="descending"] button::after { content: " \25BC"; font-size: .7em; }
        .num { text-align: right; font-variant-numeric: tabular-nums; }
        .stale { color: var(--muted); }
        .pill { display: inline-block; min-width: 3.2em; text-align: center; border-radius: 999px; padding: 0 .5em;
          font-weight: 600; color: #fff; }
        .state-up .pill { background: var(--up); } .state-late .pill { background: var(--late); }
        .state-down .pill { background: var(--down); }
        .state-down td { color: var(--muted); }
        tr.empty td { color: var(--muted); text-align: center; padding: 2rem; }
        footer { color: var(--muted); margin-top: 1rem; font-size: .9rem; }

        """#
}
