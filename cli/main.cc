// eplb: the command-line tool (report, plan, validate, convert).
#include <cstdio>

int main() {
  std::puts("eplb");
  return 0;
}
