// chatglmd-docgen man|ini [FILE]: writes chatglmd(8) or the sample chatglmd.ini (to FILE or
// stdout), generated from the tables the daemon itself uses, so the build installs documents
// that cannot drift from the binary.
#include <fstream>
#include <iostream>
#include <string>
#include <string_view>

#include "app/reference_docs.hpp"
#include "jobs/registry.hpp"

int main(int argc, char** argv) {
  const std::string_view what = argc >= 2 ? argv[1] : "";
  const auto job_defaults = chatglmd::jobs::default_settings();
  std::string text;
  if (what == "man" && argc <= 3) {
    text = chatglmd::app::render_man_page(job_defaults);
  } else if (what == "ini" && argc <= 3) {
    text = chatglmd::app::render_sample_ini(job_defaults);
  } else {
    std::cerr << "usage: chatglmd-docgen man|ini [FILE]\n";
    return 2;
  }
  if (argc == 2) {
    std::cout << text;
    return std::cout.good() ? 0 : 1;
  }
  std::ofstream out(argv[2], std::ios::binary | std::ios::trunc);
  out << text;
  out.close();
  if (!out) {
    std::cerr << "chatglmd-docgen: cannot write " << argv[2] << "\n";
    return 1;
  }
  return 0;
}
