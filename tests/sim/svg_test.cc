// The SVG writer: escaping, number formatting, and documents that parse as XML.
#include "eplb/sim/svg.h"

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "support/xml_check.h"

namespace eplb::sim {
namespace {

using eplb::testing::check_xml;

TEST(SvgEscape, ReplacesMarkupCharactersAndControlCharacters) {
  EXPECT_EQ(svg_escape("a<b & \"c\" 'd'>"), "a&lt;b &amp; &quot;c&quot; &apos;d&apos;&gt;");
  EXPECT_EQ(svg_escape(std::string("x\x01y\tz", 5)), "x?y\tz");
  EXPECT_EQ(svg_escape("plain µs"), "plain µs");  // UTF-8 passes through
}

TEST(SvgNumber, ShortFixedWithoutTrailingZerosOrNegativeZero) {
  EXPECT_EQ(svg_number(12.5), "12.5");
  EXPECT_EQ(svg_number(3.0), "3");
  EXPECT_EQ(svg_number(0.05), "0.05");
  EXPECT_EQ(svg_number(2.0 / 3.0), "0.67");
  EXPECT_EQ(svg_number(2.0 / 3.0, 4), "0.6667");
  EXPECT_EQ(svg_number(-0.001), "0");
  EXPECT_EQ(svg_number(-1.25), "-1.25");
  EXPECT_EQ(svg_number(1e-9), "0");
  EXPECT_EQ(svg_number(1234567.891), "1234567.89");
  EXPECT_EQ(svg_number(std::nan("")), "0");
  EXPECT_EQ(svg_number(std::numeric_limits<double>::infinity()), "0");
}

// The checker the plot tests rely on rejects what an XML parser rejects.
TEST(XmlCheck, RejectsMalformedDocuments) {
  EXPECT_EQ(check_xml("<a><b/>x &amp; y</a>").error, "");
  EXPECT_EQ(check_xml("<?xml version=\"1.0\"?>\n<a k='v'/>\n").error, "");
  EXPECT_NE(check_xml("<a><b></a>").error, "");
  EXPECT_NE(check_xml("<a>1 < 2</a>").error, "");
  EXPECT_NE(check_xml("<a>&nbsp;</a>").error, "");
  EXPECT_NE(check_xml("<a k=v/>").error, "");
  EXPECT_NE(check_xml("<a k=\"<\"/>").error, "");
  EXPECT_NE(check_xml("<a/><b/>").error, "");
  EXPECT_NE(check_xml("<a>").error, "");
  EXPECT_NE(check_xml("").error, "");
}

TEST(SvgDocument, EveryPrimitiveMakesWellFormedXmlWithEscapedText) {
  SvgDocument doc(200, 100, "title <&>");
  doc.linear_gradient("g", {{0.0, "#000000"}, {1.0, "#ffffff"}});
  doc.rect(1, 2, 3, 4, "url(#g)");
  doc.rect(1, 2, 3, 4, "#ff0000", "#000000", "tip \"quoted\" & <b>");
  doc.line(0, 0, 10, 10, "#000", 1, "4 2");
  doc.polyline({{0, 0}, {5, 5}, {10, 0}}, "#00f");
  doc.polyline({{0, 0}}, "#00f");  // one point: nothing
  TextStyle style;
  style.anchor = TextAnchor::kEnd;
  style.rotate = -90;
  style.bold = true;
  doc.text(5, 5, "a < b && c > d", style);
  const std::string svg = doc.str();
  const auto check = check_xml(svg);
  ASSERT_EQ(check.error, "") << svg;
  EXPECT_EQ(check.counts.at("svg"), 1);
  EXPECT_EQ(check.counts.at("rect"), 3);  // the white background and two
  EXPECT_EQ(check.counts.at("polyline"), 1);
  EXPECT_EQ(check.counts.at("line"), 1);
  EXPECT_EQ(check.counts.at("text"), 1);
  EXPECT_EQ(check.counts.at("title"), 2);  // the document's and the tooltip
  EXPECT_EQ(check.counts.at("stop"), 2);
  EXPECT_NE(svg.find("a &lt; b &amp;&amp; c &gt; d"), std::string::npos);
  EXPECT_NE(svg.find("title &lt;&amp;&gt;"), std::string::npos);
  EXPECT_NE(svg.find("text-anchor=\"end\""), std::string::npos);
  EXPECT_NE(svg.find("rotate(-90 5 5)"), std::string::npos);
  EXPECT_NE(svg.find("viewBox=\"0 0 200 100\""), std::string::npos);
}

}  // namespace
}  // namespace eplb::sim
