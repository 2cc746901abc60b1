// SPDX-License-Identifier: MIT
// fleetstat.js: the web view's charts.  Each <div class="plot" data-series=ID> is drawn from
// the JSON block #ID the collector put in the page (each state's trend of the tier: buckets of
// {t, hosts, mean, max}), with Dygraph from libjs-dygraphs.  The tables need none of this.
"use strict";

(function () {
	function rows(data) {
		var first = data.trends[0].buckets || [], out = [];

		for (var i = 0; i < first.length; i++) {
			var row = [new Date(first[i].t)];

			for (var s = 0; s < data.trends.length; s++) {
				var b = (data.trends[s].buckets || [])[i];

				// A bucket no host reported in is a gap, not a zero.
				row.push(b && b.hosts > 0 ? b.mean : null);
			}
			out.push(row);
		}
		return out;
	}

	function draw(div) {
		var block = document.getElementById(div.dataset.series);
		var data = JSON.parse(block.textContent);
		var r = rows(data), points = 0;

		r.forEach(function (row) {
			points += row.slice(1).filter(function (v) { return v !== null; }).length;
		});
		div.dataset.points = String(points);
		if (typeof Dygraph === "undefined") {
			div.textContent = "The charting library did not load.";
			return;
		}
		var g = new Dygraph(div, r, {
			labels: ["time"].concat(data.states),
			ylabel: "sockets",
			connectSeparatedPoints: false,
			drawPoints: true,
			strokeWidth: 1.5,
			includeZero: true,
			drawCallback: function (g, initial) {
				if (initial)
					div.dataset.drawn = "1";
			},
		});
		legend(div, data.states, g.getColors());
	}

	// The states under the chart in their lines' colours (set through the CSSOM, which the
	// policy allows).
	function legend(div, states, colors) {
		var ul = document.createElement("ul");

		ul.className = "legend";
		states.forEach(function (name, i) {
			var li = document.createElement("li"), swatch = document.createElement("span");

			swatch.className = "swatch";
			swatch.style.backgroundColor = colors[i];
			li.appendChild(swatch);
			li.appendChild(document.createTextNode(name));
			ul.appendChild(li);
		});
		div.parentNode.insertBefore(ul, div.nextSibling);
	}

	document.addEventListener("DOMContentLoaded", function () {
		// Dygraph's legend writes style attributes, which the page's policy refuses: the page
		// draws its own (legend()), and the plugin goes.
		if (typeof Dygraph !== "undefined" && Dygraph.Plugins && Dygraph.Plugins.Legend)
			Dygraph.PLUGINS = Dygraph.PLUGINS.filter(function (p) {
				return p !== Dygraph.Plugins.Legend;
			});
		// One chart that cannot be drawn says so and leaves the others be.
		document.querySelectorAll("div.plot[data-series]").forEach(function (div) {
			try {
				draw(div);
			} catch (e) {
				div.textContent = "This chart could not be drawn: " + e.message;
			}
		});
	});
})();
