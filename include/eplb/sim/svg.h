// A small SVG 1.1 writer for the plots of `eplb simulate`, `eplb report` and `eplb tune`:
// a few primitives with escaped text and compact numbers, nothing more (no layout, no CSS).
// Coordinates are user units (pixels at 100% zoom), origin top left, y down.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace eplb::sim {

// `text` with &, <, >, " and ' replaced by entities, and control characters other than tab
// and newline (not allowed in XML 1.0) replaced by '?'.
std::string svg_escape(std::string_view text);

// `value` with at most `digits` decimals, trailing zeros dropped, never "-0" or an exponent
// ("12.5", "3", "0.05"); non-finite values print as "0" (SVG has no NaN).
std::string svg_number(double value, int digits = 2);

enum class TextAnchor { kStart, kMiddle, kEnd };

struct TextStyle {
  double size = 12;  // font size, user units
  TextAnchor anchor = TextAnchor::kStart;
  bool bold = false;
  double rotate = 0;  // degrees, clockwise, about the text's anchor point
  std::string fill = "#222";
};

class SvgDocument {
 public:
  // An empty white canvas of `width` x `height`; `title` becomes the document's <title>.
  SvgDocument(double width, double height, std::string_view title);

  double width() const { return width_; }
  double height() const { return height_; }

  // `tooltip` (empty: none) becomes a <title> child, shown on hover by browsers.
  void rect(double x, double y, double w, double h, std::string_view fill,
            std::string_view stroke = "none", std::string_view tooltip = {});
  void line(double x1, double y1, double x2, double y2, std::string_view stroke,
            double stroke_width = 1, std::string_view dash = {});
  // An open path through `points` (x, y); nothing for fewer than two points.
  void polyline(const std::vector<std::pair<double, double>>& points, std::string_view stroke,
                double stroke_width = 1.5);
  void text(double x, double y, std::string_view content, const TextStyle& style = {});
  // A left-to-right linear gradient `id` through `stops` (offset in [0, 1], colour), for fills
  // written as "url(#id)".
  void linear_gradient(std::string_view id,
                       const std::vector<std::pair<double, std::string>>& stops);

  // The complete document (XML declaration, <svg> root with width/height/viewBox).
  std::string str() const;

 private:
  double width_;
  double height_;
  std::string title_;
  std::string defs_;
  std::string body_;
};

}  // namespace eplb::sim
