/* Fair Reply: client-side sorting for tables marked data-sortable. Progressive enhancement only:
   without this script the server's order (by rank) stands. Cells sort by their data-value attribute,
   numerically when every present value is a number; cells without a value always sort last. */
(function () {
  "use strict";

  function valueOf(row, index) {
    var cell = row.cells[index];
    return cell ? cell.getAttribute("data-value") || "" : "";
  }

  function isNumeric(values) {
    return values.every(function (v) { return v === "" || !isNaN(Number(v)); });
  }

  function sortBy(table, header, direction) {
    var body = table.tBodies[0];
    var index = header.cellIndex;
    var rows = Array.prototype.slice.call(body.rows);
    var numeric = isNumeric(rows.map(function (r) { return valueOf(r, index); }));
    var sign = direction === "ascending" ? 1 : -1;
    rows.sort(function (a, b) {
      var x = valueOf(a, index), y = valueOf(b, index);
      if (x === "" || y === "") { return (x === "") - (y === ""); }
      var order = numeric ? Number(x) - Number(y) : x.localeCompare(y);
      return order * sign;
    });
    rows.forEach(function (r) { body.appendChild(r); });
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th) { th.removeAttribute("aria-sort"); });
    header.setAttribute("aria-sort", direction);
    var status = document.querySelector(".sort-status");
    if (status) { status.textContent = "Sorted by " + header.textContent + ", " + direction + "."; }
  }

  function enhance(table) {
    Array.prototype.forEach.call(table.querySelectorAll("thead th[data-sort]"), function (th) {
      var button = document.createElement("button");
      button.type = "button";
      while (th.firstChild) { button.appendChild(th.firstChild); }
      th.appendChild(button);
      button.addEventListener("click", function () {
        var next = th.getAttribute("aria-sort") === "ascending" ? "descending" : "ascending";
        sortBy(table, th, next);
      });
    });
  }

  function start() {
    Array.prototype.forEach.call(document.querySelectorAll("table[data-sortable]"), enhance);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
