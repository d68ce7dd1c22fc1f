# embed-xml.cmake -- turn a target-description XML file into a C array at build time.
# cmake -DIN=file.xml -DOUT=file.c -DNAME=symbol -P embed-xml.cmake
file(READ "${IN}" hex HEX)
string(LENGTH "${hex}" nhex)
math(EXPR nbytes "${nhex} / 2")
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," body "${hex}")
string(REGEX REPLACE "((0x..,){16})" "\\1\n" body "${body}")
file(WRITE "${OUT}" "/* ${NAME} -- generated from ${IN} by embed-xml.cmake; do not edit. */\n#include <stddef.h>\nconst char ${NAME}[] = {\n${body}0 };\nconst size_t ${NAME}_len = ${nbytes};\n")
