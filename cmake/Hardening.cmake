# Hardening for the shipped library and binary, on by default (STCHECK_HARDEN):
#   -fstack-protector-strong             canaries in functions with arrays or address-taken locals
#   -Wl,-z,relro,-z,now                  full RELRO: the GOT is read-only after start-up
#   PIE                                  the executable is position independent (ASLR)
#   -D_FORTIFY_SOURCE=2                  glibc's checked memcpy/snprintf/read (*_chk), in
#                                        optimised builds only: glibc ignores it at -O0
# Flags a packager already passes (dpkg-buildflags: -fstack-protector-strong,
# -D_FORTIFY_SOURCE=2 or 3, -Wl,-z,relro) are not repeated or overridden.
# tests/hardening_test.sh checks the result on the built binary.
include(CheckCCompilerFlag)
include(CheckPIESupported)

check_pie_supported(LANGUAGES C)
set(CMAKE_POSITION_INDEPENDENT_CODE ON)

if(NOT CMAKE_C_FLAGS MATCHES "-fstack-protector")
  check_c_compiler_flag(-fstack-protector-strong ST_HAVE_STACK_PROTECTOR_STRONG)
  if(ST_HAVE_STACK_PROTECTOR_STRONG)
    add_compile_options(-fstack-protector-strong)
  endif()
endif()

if(NOT CMAKE_C_FLAGS MATCHES "_FORTIFY_SOURCE")
  # Only where the build type optimises; a build type of None takes the packager's flags as is.
  add_compile_definitions(
    $<$<OR:$<CONFIG:Release>,$<CONFIG:RelWithDebInfo>,$<CONFIG:MinSizeRel>>:_FORTIFY_SOURCE=2>)
endif()

if(CMAKE_SYSTEM_NAME STREQUAL "Linux")
  add_link_options(LINKER:-z,relro LINKER:-z,now)
endif()
