#include "sim/plot_frame.h"

#include <algorithm>
#include <cmath>

namespace eplb::sim::internal {
namespace {

constexpr double kTickFont = 11;
constexpr double kLabelFont = 12;
constexpr double kLegendFont = 12;
constexpr double kLegendRow = 18;
constexpr double kLegendSwatch = 20;
constexpr const char* kGrid = "#e6e6e6";
constexpr const char* kFrame = "#888888";

}  // namespace

std::vector<double> nice_ticks(double lo, double hi, int target, bool integer) {
  if (!std::isfinite(lo) || !std::isfinite(hi)) return {};
  if (hi < lo) std::swap(lo, hi);
  if (hi - lo < 1e-12) {
    const double pad = std::max(std::abs(lo) * 0.1, integer ? 1.0 : 0.5);
    lo -= pad;
    hi += pad;
  }
  const double raw = (hi - lo) / std::max(target, 1);
  const double magnitude = std::pow(10.0, std::floor(std::log10(raw)));
  double step = 10 * magnitude;
  for (const double m : {1.0, 2.0, 5.0}) {
    if (m * magnitude >= raw * (1 - 1e-9)) {
      step = m * magnitude;
      break;
    }
  }
  if (integer) step = std::max(step, 1.0);
  std::vector<double> ticks;
  const double first = std::ceil(lo / step - 1e-9);
  for (int i = 0; i <= 1000; ++i) {  // 1000: guards a degenerate step
    const double t = (first + i) * step;
    if (t > hi + step * 1e-9) break;
    ticks.push_back(std::abs(t) < step * 1e-9 ? 0.0 : t);
  }
  return ticks;
}

std::vector<double> extend_ticks(std::vector<double> ticks, double hi) {
  if (ticks.size() < 2) return ticks;
  const double step = ticks[1] - ticks[0];
  if (ticks.back() < hi - step * 1e-9) ticks.push_back(ticks.back() + step);
  return ticks;
}

int tick_digits(const std::vector<double>& ticks) {
  for (int d = 0; d < 4; ++d) {
    const double scale = std::pow(10.0, d);
    bool exact = true;
    for (const double t : ticks) {
      if (std::abs(t * scale - std::round(t * scale)) > 1e-6 * std::max(1.0, std::abs(t * scale)))
        exact = false;
    }
    if (exact) return d;
  }
  return 4;
}

double text_width(std::string_view text, double size) {
  double chars = 0;
  for (const char c : text) {
    // UTF-8 continuation bytes do not start a glyph.
    if ((static_cast<unsigned char>(c) & 0xC0) != 0x80) chars += 1;
  }
  return chars * 0.62 * size;
}

double PlotFrame::x(double v) const {
  const double span = x_max - x_min;
  return left + (span > 0 ? (v - x_min) / span : 0.5) * width;
}

double PlotFrame::y(double v) const {
  const double span = y_max - y_min;
  return top + height - (span > 0 ? (v - y_min) / span : 0.5) * height;
}

void draw_axes(SvgDocument& doc, const PlotFrame& f, const std::vector<double>& x_ticks,
               const std::vector<double>& y_ticks, std::string_view x_label,
               std::string_view y_label) {
  const double bottom = f.top + f.height;
  const int x_digits = tick_digits(x_ticks);
  const int y_digits = tick_digits(y_ticks);
  TextStyle tick_style;
  tick_style.size = kTickFont;
  tick_style.fill = "#444";
  tick_style.anchor = TextAnchor::kMiddle;
  for (const double t : x_ticks) {
    if (t < f.x_min - 1e-9 || t > f.x_max + 1e-9) continue;
    const double x = f.x(t);
    doc.line(x, f.top, x, bottom, kGrid);
    doc.line(x, bottom, x, bottom + 4, kFrame);
    doc.text(x, bottom + 16, svg_number(t, x_digits), tick_style);
  }
  double widest = 0;
  tick_style.anchor = TextAnchor::kEnd;
  for (const double t : y_ticks) {
    if (t < f.y_min - 1e-9 || t > f.y_max + 1e-9) continue;
    const double y = f.y(t);
    const std::string label = svg_number(t, y_digits);
    doc.line(f.left, y, f.left + f.width, y, kGrid);
    doc.line(f.left - 4, y, f.left, y, kFrame);
    doc.text(f.left - 7, y + 4, label, tick_style);
    widest = std::max(widest, text_width(label, kTickFont));
  }
  doc.rect(f.left, f.top, f.width, f.height, "none", kFrame);
  TextStyle label_style;
  label_style.size = kLabelFont;
  label_style.anchor = TextAnchor::kMiddle;
  doc.text(f.left + f.width / 2, bottom + 36, x_label, label_style);
  label_style.rotate = -90;
  const double y_label_x = f.left - widest - 18;
  doc.text(y_label_x, f.top + f.height / 2, y_label, label_style);
}

double legend_width(const std::vector<LegendEntry>& entries) {
  double widest = 0;
  for (const LegendEntry& e : entries) widest = std::max(widest, text_width(e.label, kLegendFont));
  return 8 + kLegendSwatch + 6 + widest + 8;
}

double legend_height(const std::vector<LegendEntry>& entries) {
  return 8 + kLegendRow * static_cast<double>(entries.size()) + 4;
}

void draw_legend(SvgDocument& doc, double x, double y, const std::vector<LegendEntry>& entries) {
  doc.rect(x, y, legend_width(entries), legend_height(entries), "#ffffff", "#cccccc");
  TextStyle style;
  style.size = kLegendFont;
  for (size_t i = 0; i < entries.size(); ++i) {
    const double row = y + 8 + kLegendRow * static_cast<double>(i);
    const double mid = row + kLegendRow / 2 - 2;
    if (entries[i].bar) {
      doc.rect(x + 8 + 4, mid - 6, 12, 12, entries[i].colour);
    } else {
      doc.line(x + 8, mid, x + 8 + kLegendSwatch, mid, entries[i].colour, 2.5);
    }
    doc.text(x + 8 + kLegendSwatch + 6, mid + 4, entries[i].label, style);
  }
}

void draw_titles(SvgDocument& doc, std::string_view title, std::string_view subtitle) {
  TextStyle style;
  style.size = 16;
  style.bold = true;
  style.anchor = TextAnchor::kMiddle;
  doc.text(doc.width() / 2, 24, title, style);
  if (subtitle.empty()) return;
  style.size = 12;
  style.bold = false;
  style.fill = "#555";
  doc.text(doc.width() / 2, 44, subtitle, style);
}

double titles_height(std::string_view subtitle) { return subtitle.empty() ? 44 : 62; }

SvgDocument open_chart(const PlotFrame& frame, std::string_view title, std::string_view subtitle,
                       const std::vector<LegendEntry>& legend, const std::vector<double>& x_ticks,
                       const std::vector<double>& y_ticks, std::string_view x_label,
                       std::string_view y_label) {
  const double legend_x = frame.left + frame.width + 20;
  const double width =
      std::max(legend_x + legend_width(legend) + 16, text_width(subtitle, 12) + 40);
  const double height =
      std::max(frame.top + frame.height + 56, frame.top + legend_height(legend) + 16);
  SvgDocument doc(width, height, title);
  draw_titles(doc, title, subtitle);
  draw_axes(doc, frame, x_ticks, y_ticks, x_label, y_label);
  draw_legend(doc, legend_x, frame.top, legend);
  return doc;
}

}  // namespace eplb::sim::internal
