// emorec's leaderboard site: sortable, filterable tables (DataTables), model cards (<dialog>)
// and the trace view (plotly.js). Everything it reads is in the page or beside it.
(function () {
  "use strict";

  const TARGETS = ["valence", "arousal"];
  const PALETTE = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b",
                   "#e377c2", "#17becf", "#bcbd22", "#7f7f7f"];
  const dataElement = document.getElementById("site-data");
  const view = dataElement ? JSON.parse(dataElement.textContent) : null;

  // ------------------------------------------------------------------ tables and filters
  const filters = {};      // data attribute -> the value a row must have ("" = any)
  let tables = [];

  function setUpTables(DataTable) {
    DataTable.ext.search.push(function (settings, searchData, index) {
      const row = new DataTable.Api(settings).row(index).node();
      if (!row || !row.dataset.entry) {
        return true;
      }
      return Object.entries(filters).every(([key, value]) => !value || row.dataset[key] === value);
    });
    tables = Array.from(document.querySelectorAll("table.board, table#datasets")).map(
      (table) => new DataTable(table, {
        paging: false,
        order: [],
        autoWidth: false,
        layout: {topStart: null, topEnd: null, bottomStart: "info", bottomEnd: null},
        columnDefs: [{targets: "no-sort", orderable: false},
                     {targets: "_all", orderSequence: ["asc", "desc"]}],
        language: {info: "_TOTAL_ of _MAX_ rows", infoFiltered: "",
                   infoEmpty: "no row matches the filters"},
      }));
    const form = document.getElementById("filters");
    if (form) {
      form.querySelectorAll("select[data-filter]").forEach((select) => {
        select.addEventListener("change", () => {
          filters[select.dataset.filter] = select.value;
          tables.forEach((table) => table.draw());
        });
      });
      const text = document.getElementById("filter-text");
      text.addEventListener("input", () => tables.forEach((table) => table.search(text.value).draw()));
      document.getElementById("filter-reset").addEventListener("click", () => {
        form.querySelectorAll("select[data-filter]").forEach((select) => {
          select.value = "";
          filters[select.dataset.filter] = "";
        });
        text.value = "";
        tables.forEach((table) => table.search("").draw());
      });
    }
    document.body.dataset.tables = "ready";
  }

  // ------------------------------------------------------------------ model cards
  function openCard(key, entry) {
    const dialog = document.getElementById(key);
    if (!dialog) {
      return;
    }
    dialog.querySelectorAll("section.variant").forEach((section) => {
      section.classList.toggle("chosen", section.dataset.entry === entry);
    });
    dialog.showModal();
    const chosen = dialog.querySelector("section.variant.chosen");
    if (chosen) {
      chosen.scrollIntoView({block: "nearest"});
    }
  }

  document.addEventListener("click", (event) => {
    const link = event.target.closest(".card-link");
    if (link) {
      openCard(link.dataset.card, link.dataset.entry);
      return;
    }
    if (event.target.closest("dialog.card .close")) {
      event.target.closest("dialog").close();
      return;
    }
    if (event.target.matches("dialog.card")) {   // a click on the backdrop
      event.target.close();
      return;
    }
    const cell = event.target.closest("table.board tbody td");
    if (cell && !event.target.closest("input, a, button")) {
      const row = cell.parentElement;
      openCard(row.dataset.card, row.dataset.entry);
    }
  });

  // ------------------------------------------------------------------ trace view
  const chosen = new Set(view ? view.chosen : []);
  const colours = new Map();   // entry id -> its colour while chosen
  const sessions = {};         // session name -> its data, once its script has run
  const waiting = {};          // session name -> the resolve of its load
  let shown = view ? view.session : 0;

  window.emorecSite = {
    traceLoaded(data) {
      sessions[data.session] = data;
      if (waiting[data.session]) {
        waiting[data.session](data);
      }
    },
  };

  function load(number) {
    const name = view.sessions[number];
    if (sessions[name]) {
      return Promise.resolve(sessions[name]);
    }
    return new Promise((resolve, reject) => {
      waiting[name] = resolve;
      const script = document.createElement("script");
      script.src = `${view.folder}/${number}.js`;
      script.onerror = () => reject(new Error(`cannot read ${script.src}`));
      document.head.appendChild(script);
    });
  }

  function colourOf(id) {
    if (!colours.has(id)) {
      const used = new Set(colours.values());
      colours.set(id, PALETTE.find((colour) => !used.has(colour)) || PALETTE[colours.size % 10]);
    }
    return colours.get(id);
  }

  function syncToggles() {
    document.querySelectorAll("input.trace-toggle").forEach((box) => {
      box.checked = chosen.has(box.dataset.entry);
    });
    document.querySelectorAll("#trace-choices label.choice").forEach((label) => {
      const swatch = label.querySelector(".swatch");
      swatch.style.background = chosen.has(label.dataset.entry) ? colourOf(label.dataset.entry) : "";
    });
    const count = document.getElementById("trace-count");
    count.textContent = `${chosen.size} row${chosen.size === 1 ? "" : "s"} drawn`;
  }

  function draw() {
    const plot = document.getElementById("trace-plot");
    const number = shown;
    return load(number).then((data) => {
      if (number !== shown) {
        return;
      }
      const traces = [];
      TARGETS.forEach((target, row) => {
        const axes = row === 0 ? {xaxis: "x", yaxis: "y"} : {xaxis: "x2", yaxis: "y2"};
        traces.push({x: data.t, y: data.rating[target].map((v) => v * data.step), name: "rating",
                     legendgroup: "rating", showlegend: row === 0, mode: "lines",
                     line: {color: "#111", width: 2.5}, meta: "rating", ...axes});
        chosen.forEach((id) => {
          const entry = view.entries[id];
          traces.push({x: data.t, y: data.pred[id][target].map((v) => v * data.step),
                       name: `${entry.name} ${entry.variant} (${entry.seed})`.replace(/\s+/g, " "),
                       legendgroup: id, showlegend: row === 0, mode: "lines",
                       line: {color: colourOf(id), width: 1.5}, meta: id, ...axes});
        });
      });
      const layout = {
        height: 600, margin: {l: 60, r: 20, t: 30, b: 40},
        title: {text: `${view.dataset}${view.stand_in ? " (stand-in data)" : ""}: test session ` +
                      `${data.session}`, font: {size: 14}},
        grid: {rows: 2, columns: 1, pattern: "independent", roworder: "top to bottom"},
        xaxis: {matches: "x2", showticklabels: false},
        xaxis2: {title: {text: "time (s)"}},
        yaxis: {title: {text: "valence"}, zeroline: true},
        yaxis2: {title: {text: "arousal"}, zeroline: true},
        legend: {orientation: "h", y: -0.12},
      };
      return window.Plotly.react(plot, traces, layout,
                                 {displaylogo: false, responsive: true, showTips: false});
    }).then(() => {
      plot.dataset.session = view.sessions[number];
      plot.dataset.drawn = String(chosen.size);
    }).catch((error) => {
      plot.textContent = String(error);
    });
  }

  function setUpTraces() {
    if (!view || !document.getElementById("trace-plot")) {
      return;
    }
    document.addEventListener("change", (event) => {
      const box = event.target.closest("input.trace-toggle");
      if (!box) {
        return;
      }
      if (box.checked) {
        chosen.add(box.dataset.entry);
      } else {
        chosen.delete(box.dataset.entry);
        colours.delete(box.dataset.entry);
      }
      syncToggles();
      draw();
    });
    document.getElementById("trace-session").addEventListener("change", (event) => {
      shown = Number(event.target.value);
      draw();
    });
    document.getElementById("trace-clear").addEventListener("click", () => {
      chosen.clear();
      colours.clear();
      syncToggles();
      draw();
    });
    syncToggles();
    if (view.sessions.length) {
      draw();
    }
  }

  setUpTraces();
  if (window.emorecTables) {
    window.emorecTables.then((module) => setUpTables(module.default)).catch((error) => {
      document.body.dataset.tables = `failed: ${error}`;
    });
  }
})();
