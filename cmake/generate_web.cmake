# Called by embed_web.cmake at build time: writes one C++ file holding every file of web/ as a
# byte array (any content, no escaping rules to get wrong) with its name and a content hash
# that serves as its ETag.
set(body "// Generated from web/; do not edit.\n#include \"http/handlers/embedded_web.hpp\"\n\nnamespace chatglmd::http {\nnamespace {\n\n")
set(table "")
set(index 0)
string(REPLACE "|" ";" FILES "${FILES}")
foreach(name ${FILES})
  file(READ ${ROOT}/${name} hex HEX)
  file(SHA256 ${ROOT}/${name} sha)
  string(SUBSTRING ${sha} 0 20 etag)
  file(SIZE ${ROOT}/${name} size)
  string(REGEX REPLACE "([0-9a-f][0-9a-f])" "'\\\\x\\1'," bytes "${hex}")
  # Keep lines short for compilers and editors.
  string(REGEX REPLACE "(('[^']+',){24})" "\\1\n" bytes "${bytes}")
  string(APPEND body "const char kFile${index}[] = {\n${bytes}'\\0'};\n\n")
  string(APPEND table "      {\"${name}\", std::string_view(kFile${index}, ${size}), \"\\\"${etag}\\\"\"},\n")
  math(EXPR index "${index} + 1")
endforeach()
string(APPEND body "}  // namespace\n\nconst std::vector<EmbeddedFile>& embedded_web_files() {\n  static const std::vector<EmbeddedFile> all = {\n${table}  };\n  return all;\n}\n\n}  // namespace chatglmd::http\n")
file(WRITE ${OUT}.tmp "${body}")
file(COPY_FILE ${OUT}.tmp ${OUT} ONLY_IF_DIFFERENT)
