/// The status page's inline script: refreshes the table from `/api/v1/agents` in place and sorts it.
///
/// Cells are written with `textContent` and attributes with `setAttribute`, never `innerHTML`, so nothing a peer
/// sends can become markup in the browser either. The formatting functions mirror ``StatusFormat``.
enum StatusPageScript {
    static let javascript: StaticString = #"""

        (function () {
          "use strict";
          var REFRESH_MS = 5000;
          var table = document.getElementById("agents");
          var body = table.tBodies[0];
          var emptyRow = body.querySelector("tr.empty");
          var status = document.getElementById("refresh");
          var sortKey = "name", sortDirection = 1, agents = null, now = 0, refreshes = 0;
          var stateOrder = { down: 0, late: 1, up: 2 };
          var dialects = { native: "native", legacy: "report format" };

          function pad(value, width) { var s = String(value); while (s.length < width) s = "0" + s; return s; }
          function fixed(value, decimals) {
            if (!isFinite(value)) return isNaN(value) ? "NaN" : (value < 0 ? "-Inf" : "+Inf");
            var scale = Math.pow(10, decimals), units = Math.round(Math.abs(value) * scale);
            var sign = value < 0 && units !== 0 ? "-" : "";
            var integral = Math.floor(units / scale), fraction = units % scale;
            return decimals === 0 ? sign + integral : sign + integral + "." + pad(fraction, decimals);
          }
          function percent(value) { return fixed(value, 1) + " %"; }
          function mebibytes(gibibytes) { return fixed(gibibytes * 1024, 1) + " MiB"; }
          function duration(seconds) {
            if (!isFinite(seconds)) return "?";
            var total = Math.floor(Math.max(0, seconds));
            if (total < 60) return total + " s";
            var minutes = Math.floor(total / 60);
            if (minutes < 60) return minutes + " min";
            var hours = Math.floor(minutes / 60);
            if (hours < 24) return minutes % 60 === 0 ? hours + " h" : hours + " h " + (minutes % 60) + " min";
            var days = Math.floor(hours / 24);
            return hours % 24 === 0 ? days + " d" : days + " d " + (hours % 24) + " h";
          }
          function isoUTC(seconds) {
            return new Date(Math.floor(seconds) * 1000).toISOString().replace(/\.\d{3}Z$/, "Z");
          }

          // Each cell: [text, sort value, extra class or null, title or null].
          function cells(agent) {
            var latest = agent.latest, stale = agent.fresh ? "num" : "num stale", dash = "\u2014";
            var since = agent.connected ? agent.connectedSince : null;
            return {
              state: [agent.state, stateOrder[agent.state], null, null],
              name: [agent.name, agent.name, null, null],
              remoteAddress: [agent.remoteAddress, agent.remoteAddress, null, null],
              protocol: [(dialects[agent.dialect] || agent.dialect) + (agent.transport === "tls" ? ", TLS" : ""),
                agent.dialect + agent.transport, null, "transport: " + agent.transport],
              connectedSince: [since === null ? dash : duration(now - since), since === null ? Infinity : since,
                "num", since === null ? null : isoUTC(since)],
              lastSeen: [agent.lastSeen === null ? "never" : duration(now - agent.lastSeen) + " ago",
                agent.lastSeen === null ? -Infinity : -agent.lastSeen, "num",
                agent.lastSeen === null ? null : isoUTC(agent.lastSeen)],
              ram: [latest ? percent(latest.ramUsagePercent) : dash, latest ? latest.ramUsagePercent : -1, stale, null],
              cpu: [latest ? percent(latest.cpuUsagePercent) : dash, latest ? latest.cpuUsagePercent : -1, stale, null],
              rss: [latest ? mebibytes(latest.processRAMGigabytes) : dash, latest ? latest.processRAMGigabytes : -1,
                stale, null],
              interrupts: [latest ? String(latest.cpuInterrupts) : dash, latest ? latest.cpuInterrupts : -1, stale, null],
              samples: [String(agent.samplesReceived), agent.samplesReceived, "num", null]
            };
          }

          function setAttribute(element, name, value) {
            if (value === null) { if (element.hasAttribute(name)) element.removeAttribute(name); }
            else if (element.getAttribute(name) !== value) element.setAttribute(name, value);
          }
          function setText(element, text) { if (element.textContent !== text) element.textContent = text; }

          function updateRow(row, agent) {
            var values = cells(agent);
            setAttribute(row, "class", "state-" + agent.state);
            for (var i = 0; i < row.cells.length; i++) {
              var cell = row.cells[i], value = values[cell.getAttribute("data-key")];
              if (!value) continue;
              setAttribute(cell, "class", value[2]);
              setAttribute(cell, "title", value[3]);
              if (cell.getAttribute("data-key") === "state") {
                var pill = cell.firstElementChild;
                if (!pill) { pill = document.createElement("span"); pill.className = "pill"; cell.appendChild(pill); }
                setText(pill, value[0]);
              } else {
                setText(cell, value[0]);
              }
            }
          }
          function newRow(agent) {
            var row = document.createElement("tr");
            row.setAttribute("data-agent", agent.name);
            var headers = table.tHead.rows[0].cells;
            for (var i = 0; i < headers.length; i++) {
              var cell = document.createElement("td");
              cell.setAttribute("data-key", headers[i].getAttribute("data-key"));
              row.appendChild(cell);
            }
            return row;
          }

          function compare(a, b) {
            var x = cells(a)[sortKey][1], y = cells(b)[sortKey][1];
            if (x < y) return -sortDirection;
            if (x > y) return sortDirection;
            return a.name < b.name ? -1 : (a.name > b.name ? 1 : 0);
          }

          function render() {
            if (agents === null) return;
            // Maps, not plain objects: an agent may be called "__proto__", "constructor" or "toString".
            var rows = new Map();
            var existing = body.querySelectorAll("tr[data-agent]");
            for (var i = 0; i < existing.length; i++) rows.set(existing[i].getAttribute("data-agent"), existing[i]);
            var sorted = agents.slice().sort(compare), keep = new Set();
            for (var j = 0; j < sorted.length; j++) {
              var agent = sorted[j], row = rows.get(agent.name) || newRow(agent);
              keep.add(agent.name);
              updateRow(row, agent);
              // appendChild moves an existing row: same DOM nodes, new order, one repaint.
              if (body.lastElementChild !== row) body.appendChild(row);
            }
            rows.forEach(function (row, name) { if (!keep.has(name)) body.removeChild(row); });
            emptyRow.hidden = sorted.length > 0;
          }

          function update(payload) {
            agents = payload.agents;
            now = payload.now;
            var counts = payload.counts;
            for (var key in counts) {
              var element = document.querySelector('[data-count="' + key + '"]');
              if (element) setText(element, String(counts[key]));
            }
            document.title = "monitord: " + counts.total + " agents";
            render();
            refreshes += 1;
            status.className = "";
            status.setAttribute("data-now", String(now));
            status.setAttribute("data-refreshes", String(refreshes));
            var time = status.querySelector("time") || document.createElement("time");
            setText(status, "As of ");
            time.setAttribute("datetime", isoUTC(now));
            setText(time, isoUTC(now));
            status.appendChild(time);
            status.appendChild(document.createTextNode(", refreshed every " + REFRESH_MS / 1000 + " s."));
          }

          function refresh() {
            fetch("/api/v1/agents", { cache: "no-store" })
              .then(function (response) {
                if (!response.ok) throw new Error("HTTP " + response.status);
                return response.json();
              })
              .then(update)
              .catch(function (error) {
                status.className = "error";
                setText(status, "Cannot reach the gateway (" + error.message + "); showing the last data received.");
              })
              .then(function () { window.setTimeout(refresh, REFRESH_MS); });
          }

          var headers = table.tHead.rows[0].cells;
          function sortBy(key, direction) {
            sortKey = key;
            sortDirection = direction;
            for (var k = 0; k < headers.length; k++) {
              setAttribute(headers[k], "aria-sort", headers[k].getAttribute("data-key") === sortKey
                ? (sortDirection === 1 ? "ascending" : "descending") : null);
            }
            render();
          }
          for (var h = 0; h < headers.length; h++) {
            headers[h].firstElementChild.addEventListener("click", function (event) {
              var key = event.currentTarget.parentNode.getAttribute("data-key");
              sortBy(key, key === sortKey ? -sortDirection : 1);
              // The order is kept in the address (#sort=lastSeen, #sort=-cpu), so a link or a reload keeps it.
              history.replaceState(null, "", "#sort=" + (sortDirection === 1 ? "" : "-") + sortKey);
            });
          }
          var requested = /^#sort=(-?)(\w+)$/.exec(location.hash);
          if (requested && table.tHead.querySelector('th[data-key="' + requested[2] + '"]')) {
            sortBy(requested[2], requested[1] === "-" ? -1 : 1);
          }
          refresh();
        })();

        """#
}
