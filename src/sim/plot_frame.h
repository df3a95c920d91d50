// Layout pieces the chart builders share: tick values, a plot area with axes and grid, a
// legend, and a rough text-width estimate (SVG has no text metrics without a font engine).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "eplb/sim/svg.h"

namespace eplb::sim::internal {

// Tick values in [lo, hi], a multiple of 1, 2 or 5 x 10^k apart, about `target` of them
// (at least two when hi > lo). `integer`: steps of at least 1.
std::vector<double> nice_ticks(double lo, double hi, int target, bool integer = false);

// `ticks` (from nice_ticks, >= 2 values) with one more step appended when the last is below
// `hi`, so an axis ending at the last tick shows `hi` with a labelled top.
std::vector<double> extend_ticks(std::vector<double> ticks, double hi);

// Decimals needed to print `ticks` distinctly (0..4).
int tick_digits(const std::vector<double>& ticks);

// Width of `text` in a sans-serif font of `size`, overestimated (0.62 em per character).
double text_width(std::string_view text, double size);

// A plot area (user units) and the data range it shows.
struct PlotFrame {
  double left = 0, top = 0, width = 0, height = 0;
  double x_min = 0, x_max = 1, y_min = 0, y_max = 1;
  double x(double v) const;
  double y(double v) const;
};

// Grid lines at the ticks, the frame, tick labels and axis labels (y label rotated).
void draw_axes(SvgDocument& doc, const PlotFrame& frame, const std::vector<double>& x_ticks,
               const std::vector<double>& y_ticks, std::string_view x_label,
               std::string_view y_label);

struct LegendEntry {
  std::string label;
  std::string colour;
  bool bar = false;  // a square swatch; false: a short line
};

// Width and height `draw_legend` needs for `entries`.
double legend_width(const std::vector<LegendEntry>& entries);
double legend_height(const std::vector<LegendEntry>& entries);

// One entry per line from (x, y) downwards, in a light box.
void draw_legend(SvgDocument& doc, double x, double y, const std::vector<LegendEntry>& entries);

// Title (bold) and subtitle centred at the top of the document.
void draw_titles(SvgDocument& doc, std::string_view title, std::string_view subtitle);

// Height the titles take (margin above the plot area).
double titles_height(std::string_view subtitle);

// A chart's document: sized for `frame` with `legend` to its right (and the subtitle's width),
// titles, axes and legend drawn; the caller draws the data.
SvgDocument open_chart(const PlotFrame& frame, std::string_view title, std::string_view subtitle,
                       const std::vector<LegendEntry>& legend, const std::vector<double>& x_ticks,
                       const std::vector<double>& y_ticks, std::string_view x_label,
                       std::string_view y_label);

}  // namespace eplb::sim::internal
