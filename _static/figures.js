// Figures on a narrow screen (issue 28). Every figure is drawn for the 770-px text column at 1280 px;
// squeezed into a phone's 350 px its 9-point text would be 6 px. Each figure, and each picture of an
// interactive figure, keeps at least SCALE of the width it was drawn for, so 9-point text stays at
// 10 px or more; where the column is narrower, the figure's box scrolls sideways (the page does not),
// and a tap on a figure still opens its full-size PNG. At laptop widths nothing changes: the column
// is wider than SCALE of any figure.
(function () {
  var SCALE = 0.75;
  function drawnWidth(img) {
    // a retina PNG carries its CSS size as a width attribute or an inline style; a widget's is 1x
    return parseFloat(img.getAttribute("width")) || parseFloat(img.style.width) || img.naturalWidth;
  }
  function keepLegible(img) {
    var drawn = drawnWidth(img);
    if (!drawn) {
      img.addEventListener("load", function () { keepLegible(img); }, {once: true});
      return;
    }
    img.style.minWidth = Math.round(SCALE * drawn) + "px";
    var box = img.closest(".cell_output") || img.parentElement;
    box.classList.add("tw-scroll-figure");
  }
  function visit(root) {
    root.querySelectorAll(".cell_output img").forEach(function (img) {
      if (!img.dataset.twLegible) { img.dataset.twLegible = "1"; keepLegible(img); }
    });
  }
  document.addEventListener("DOMContentLoaded", function () {
    visit(document);
    // interactive figures are drawn by the widget manager after the page has loaded
    new MutationObserver(function () { visit(document); })
      .observe(document.body, {childList: true, subtree: true});
  });
})();
