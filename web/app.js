// Placeholder front: shows the province and its procedures. The real front comes later.
(function () {
  "use strict";
  var apiUrl = ((window.MOTCUA && window.MOTCUA.apiUrl) || "").replace(/\/$/, "");
  var statusEl = document.getElementById("status");
  var listEl = document.getElementById("procedures");

  function getJson(path) {
    return fetch(apiUrl + path, { headers: { Accept: "application/json" } }).then(function (response) {
      if (!response.ok) {
        throw new Error(path + ": HTTP " + response.status);
      }
      return response.json();
    });
  }

  function levelText(level) {
    return "mức độ " + level + " · level " + level;
  }

  getJson("/config")
    .then(function (config) {
      if (config && config.province) {
        document.getElementById("province").textContent = "· " + (config.province.name || config.province.code);
      }
    })
    .catch(function () { /* the list below reports API errors */ });

  getJson("/procedures")
    .then(function (page) {
      var items = (page && page.items) || [];
      listEl.textContent = "";
      items.forEach(function (item) {
        var li = document.createElement("li");
        li.textContent = item.name + " ";
        var small = document.createElement("small");
        small.textContent = "(" + item.code + ", " + levelText(item.level) + ")";
        li.appendChild(small);
        listEl.appendChild(li);
      });
      statusEl.textContent = items.length
        ? ""
        : "Chưa có thủ tục nào. · No procedures yet.";
    })
    .catch(function (error) {
      statusEl.textContent =
        "Không tải được danh sách thủ tục. · Could not load the procedures. (" + error.message + ")";
    });
})();
