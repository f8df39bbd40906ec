// Polls an import job's status and follows it to its result page once it has finished.
(function () {
  var box = document.getElementById("st-job-progress");
  var bar = document.getElementById("st-job-bar");
  var url = box.dataset.statusUrl;
  function show(data) {
    box.querySelectorAll("[data-field]").forEach(function (el) {
      var value = data[el.dataset.field];
      if (value !== null && value !== undefined) { el.textContent = Number(value).toLocaleString("zh-CN"); }
    });
    if (data.rows_estimated) {
      bar.style.width = Math.min(100, Math.round(100 * data.rows_read / data.rows_estimated)) + "%";
    }
  }
  function poll() {
    fetch(url, {headers: {"Accept": "application/json"}, credentials: "same-origin"})
      .then(function (r) { return r.json(); })
      .then(function (data) {
        show(data);
        if (data.finished) { window.location.replace(data.url); } else { setTimeout(poll, 1000); }
      })
      .catch(function () { setTimeout(poll, 3000); });
  }
  setTimeout(poll, 500);
})();
