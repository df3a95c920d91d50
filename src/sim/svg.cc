#include "eplb/sim/svg.h"

#include <charconv>
#include <cmath>
#include <initializer_list>

namespace eplb::sim {

std::string svg_escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      case '\'': out += "&apos;"; break;
      default:
        if (static_cast<unsigned char>(c) < 0x20 && c != '\t' && c != '\n') {
          out += '?';
        } else {
          out += c;
        }
    }
  }
  return out;
}

std::string svg_number(double value, int digits) {
  if (!std::isfinite(value)) return "0";
  char buf[64];
  const auto [end, ec] =
      std::to_chars(buf, buf + sizeof(buf), value, std::chars_format::fixed, digits);
  if (ec != std::errc()) return "0";
  std::string s(buf, end);
  if (s.find('.') != std::string::npos) {
    while (s.back() == '0') s.pop_back();
    if (s.back() == '.') s.pop_back();
  }
  if (s == "-0") s = "0";
  return s;
}

namespace {

// Appends every part to `out` (one pass, no temporary strings).
void append(std::string& out, std::initializer_list<std::string_view> parts) {
  for (const std::string_view part : parts) out.append(part);
}

const char* anchor_name(TextAnchor anchor) {
  switch (anchor) {
    case TextAnchor::kStart: return "start";
    case TextAnchor::kMiddle: return "middle";
    case TextAnchor::kEnd: return "end";
  }
  return "start";
}

}  // namespace

SvgDocument::SvgDocument(double width, double height, std::string_view title)
    : width_(width), height_(height), title_(title) {}

void SvgDocument::rect(double x, double y, double w, double h, std::string_view fill,
                       std::string_view stroke, std::string_view tooltip) {
  append(body_,
         {"<rect x=\"", svg_number(x), "\" y=\"", svg_number(y), "\" width=\"", svg_number(w),
          "\" height=\"", svg_number(h), "\" fill=\"", svg_escape(fill), "\""});
  if (stroke != "none") append(body_, {" stroke=\"", svg_escape(stroke), "\""});
  if (tooltip.empty()) {
    body_ += "/>\n";
  } else {
    append(body_, {"><title>", svg_escape(tooltip), "</title></rect>\n"});
  }
}

void SvgDocument::line(double x1, double y1, double x2, double y2, std::string_view stroke,
                       double stroke_width, std::string_view dash) {
  append(body_, {"<line x1=\"", svg_number(x1), "\" y1=\"", svg_number(y1), "\" x2=\"",
                 svg_number(x2), "\" y2=\"", svg_number(y2), "\" stroke=\"", svg_escape(stroke),
                 "\" stroke-width=\"", svg_number(stroke_width), "\""});
  if (!dash.empty()) append(body_, {" stroke-dasharray=\"", svg_escape(dash), "\""});
  body_ += "/>\n";
}

void SvgDocument::polyline(const std::vector<std::pair<double, double>>& points,
                           std::string_view stroke, double stroke_width) {
  if (points.size() < 2) return;
  append(body_, {"<polyline fill=\"none\" stroke=\"", svg_escape(stroke), "\" stroke-width=\"",
                 svg_number(stroke_width), "\" stroke-linejoin=\"round\" points=\""});
  for (size_t i = 0; i < points.size(); ++i) {
    append(body_,
           {i > 0 ? " " : "", svg_number(points[i].first), ",", svg_number(points[i].second)});
  }
  body_ += "\"/>\n";
}

void SvgDocument::text(double x, double y, std::string_view content, const TextStyle& style) {
  append(body_, {"<text x=\"", svg_number(x), "\" y=\"", svg_number(y), "\" font-size=\"",
                 svg_number(style.size), "\" fill=\"", svg_escape(style.fill), "\""});
  if (style.anchor != TextAnchor::kStart) {
    append(body_, {" text-anchor=\"", anchor_name(style.anchor), "\""});
  }
  if (style.bold) body_ += " font-weight=\"bold\"";
  if (style.rotate != 0) {
    append(body_, {" transform=\"rotate(", svg_number(style.rotate), " ", svg_number(x), " ",
                   svg_number(y), ")\""});
  }
  append(body_, {">", svg_escape(content), "</text>\n"});
}

void SvgDocument::linear_gradient(std::string_view id,
                                  const std::vector<std::pair<double, std::string>>& stops) {
  append(defs_,
         {"<linearGradient id=\"", svg_escape(id), "\" x1=\"0\" y1=\"0\" x2=\"1\" y2=\"0\">\n"});
  for (const auto& [offset, colour] : stops) {
    append(defs_, {"<stop offset=\"", svg_number(offset, 4), "\" stop-color=\"", svg_escape(colour),
                   "\"/>\n"});
  }
  defs_ += "</linearGradient>\n";
}

std::string SvgDocument::str() const {
  const std::string w = svg_number(width_), h = svg_number(height_);
  std::string out = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  append(out, {"<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"", w,
               "\" height=\"", h, "\" viewBox=\"0 0 ", w, " ", h,
               "\" font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\">\n"});
  append(out, {"<title>", svg_escape(title_), "</title>\n"});
  if (!defs_.empty()) append(out, {"<defs>\n", defs_, "</defs>\n"});
  out += "<rect width=\"100%\" height=\"100%\" fill=\"#ffffff\"/>\n";
  out += body_;
  out += "</svg>\n";
  return out;
}

}  // namespace eplb::sim
