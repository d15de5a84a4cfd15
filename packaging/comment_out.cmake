# Writes ${OUT}: ${IN} with every line that is not already a comment commented out, under a
# header saying why. The package's /etc/cron.d/chatglmd is made this way from cron/chatglmd,
# so it cannot drift from the repository's file and runs nothing until the operator chooses to.
file(READ ${IN} text)
# (No "^" in the pattern: CMake's REGEX REPLACE would match it again after every replacement.)
string(REGEX REPLACE "\n([^#\n])" "\n#\\1" text "\n${text}")
string(SUBSTRING "${text}" 1 -1 text)
file(WRITE ${OUT}.tmp
  "# Shipped with every line commented out: the jobs run inside `chatglmd serve` by default.\n"
  "# To run them from cron instead, set `enabled = false` for each job in\n"
  "# /etc/chatglmd/chatglmd.ini and remove the leading # from the lines below.\n#\n"
  "${text}")
file(COPY_FILE ${OUT}.tmp ${OUT} ONLY_IF_DIFFERENT)
