// A small XML well-formedness check for the SVG tests (no XML library is a dependency): tags
// nest and match, one root, attributes are quoted, '<' never appears in text or attribute
// values, and every '&' starts a known entity. Counts elements by name. Header-only.
#pragma once

#include <cctype>
#include <cstdlib>
#include <map>
#include <string>
#include <vector>

namespace eplb::testing {

struct XmlCheck {
  std::string error;                  // empty: well-formed
  std::map<std::string, int> counts;  // element name -> occurrences
  std::vector<std::string> texts;     // character data of every element, still escaped
};

namespace xml_detail {

inline bool name_char(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == ':' || c == '-' ||
         c == '.';
}

// Checks entities in [begin, end) of `s`; returns an error or "".
inline std::string check_chars(const std::string& s, size_t begin, size_t end) {
  for (size_t i = begin; i < end; ++i) {
    if (s[i] == '<') return "raw '<' at " + std::to_string(i);
    if (s[i] != '&') continue;
    const size_t semi = s.find(';', i);
    if (semi == std::string::npos || semi >= end)
      return "unterminated entity at " + std::to_string(i);
    const std::string e = s.substr(i + 1, semi - i - 1);
    const bool numeric = e.size() > 1 && e[0] == '#';
    if (!numeric && e != "amp" && e != "lt" && e != "gt" && e != "quot" && e != "apos") {
      return "unknown entity &" + e + "; at " + std::to_string(i);
    }
  }
  return "";
}

}  // namespace xml_detail

inline XmlCheck check_xml(const std::string& s) {
  using namespace xml_detail;
  XmlCheck out;
  std::vector<std::string> stack;
  int roots = 0;
  size_t i = 0;
  auto fail = [&](const std::string& why) {
    out.error = why;
    return out;
  };
  while (i < s.size()) {
    if (s[i] != '<') {
      const size_t next = s.find('<', i);
      const size_t end = next == std::string::npos ? s.size() : next;
      if (const std::string e = check_chars(s, i, end); !e.empty()) return fail(e);
      const std::string text = s.substr(i, end - i);
      if (stack.empty() && text.find_first_not_of(" \t\r\n") != std::string::npos) {
        return fail("text outside the root at " + std::to_string(i));
      }
      if (!stack.empty() && !text.empty()) out.texts.push_back(text);
      i = end;
      continue;
    }
    if (s.compare(i, 4, "<!--") == 0 || s.compare(i, 2, "<?") == 0) {
      const std::string close = s[i + 1] == '?' ? "?>" : "-->";
      const size_t end = s.find(close, i);
      if (end == std::string::npos)
        return fail("unterminated " + close + " at " + std::to_string(i));
      i = end + close.size();
      continue;
    }
    const bool closing = s.compare(i, 2, "</") == 0;
    size_t j = i + (closing ? 2 : 1);
    const size_t name_begin = j;
    while (j < s.size() && name_char(s[j])) ++j;
    const std::string name = s.substr(name_begin, j - name_begin);
    if (name.empty()) return fail("tag without a name at " + std::to_string(i));
    if (closing) {
      while (j < s.size() && std::isspace(static_cast<unsigned char>(s[j]))) ++j;
      if (j >= s.size() || s[j] != '>') return fail("bad closing tag </" + name);
      if (stack.empty() || stack.back() != name) return fail("</" + name + "> does not match");
      stack.pop_back();
      i = j + 1;
      continue;
    }
    if (stack.empty() && ++roots > 1) return fail("second root <" + name + ">");
    ++out.counts[name];
    for (;;) {  // attributes
      while (j < s.size() && std::isspace(static_cast<unsigned char>(s[j]))) ++j;
      if (j >= s.size()) return fail("unterminated <" + name);
      if (s[j] == '>' || s.compare(j, 2, "/>") == 0) break;
      const size_t attr_begin = j;
      while (j < s.size() && name_char(s[j])) ++j;
      if (j == attr_begin || j + 1 >= s.size() || s[j] != '=' ||
          (s[j + 1] != '"' && s[j + 1] != '\'')) {
        return fail("bad attribute in <" + name + "> at " + std::to_string(attr_begin));
      }
      const char quote = s[j + 1];
      const size_t value_end = s.find(quote, j + 2);
      if (value_end == std::string::npos) return fail("unterminated attribute in <" + name);
      if (const std::string e = check_chars(s, j + 2, value_end); !e.empty()) return fail(e);
      j = value_end + 1;
    }
    if (s[j] == '/') {
      i = j + 2;
    } else {
      stack.push_back(name);
      i = j + 1;
    }
  }
  if (!stack.empty()) return fail("<" + stack.back() + "> never closed");
  if (roots != 1) return fail("no root element");
  return out;
}

}  // namespace eplb::testing
