# ctest driver (cmake -P): compiles C11 / C++ programs against the installed-layout headers.
#   -DMODE=headers|program -DLANG=c|cxx -DCOMPILER=... -DINCLUDE_DIR=... -DSRC_DIR=...
#   -DOUT_DIR=... [-DLIB=path/to/libconvene.so] [-DSANITIZE=ON]
# headers: every header under INCLUDE_DIR (opentok.h, opentok/*.h) alone in a translation unit.
# program: vonage_api.c, which uses the Vonage SDK's declarations as Vonage declares them,
#          linked against LIB and run.
if(LANG STREQUAL "c")
  set(flags -x c -std=c11 -pedantic-errors -Wall -Wextra -Werror)
else()
  set(flags -x c++ -std=c++11 -pedantic-errors -Wall -Wextra -Werror)
endif()
set(san "")
if(SANITIZE)
  set(san -fsanitize=address,undefined)
endif()
file(MAKE_DIRECTORY ${OUT_DIR})
set(failed "")
if(MODE STREQUAL "headers")
  file(GLOB headers RELATIVE ${INCLUDE_DIR} ${INCLUDE_DIR}/opentok.h ${INCLUDE_DIR}/opentok/*.h)
  list(LENGTH headers n)
  if(n LESS 10)
    message(FATAL_ERROR "only ${n} headers found under ${INCLUDE_DIR}")
  endif()
  foreach(h ${headers})
    execute_process(COMMAND ${COMPILER} ${flags} -fsyntax-only -I${INCLUDE_DIR} "-DHEADER=\"${h}\""
                            ${SRC_DIR}/header_alone.c
                    RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
    if(rc EQUAL 0)
      message(STATUS "${LANG}: ${h}: ok")
    else()
      message("${LANG}: ${h}: FAILED\n${out}")
      list(APPEND failed ${h})
    endif()
  endforeach()
else()
  get_filename_component(libdir ${LIB} DIRECTORY)
  set(exe ${OUT_DIR}/vonage_api_${LANG})
  execute_process(COMMAND ${COMPILER} ${flags} ${san} -I${INCLUDE_DIR} ${SRC_DIR}/vonage_api.c -x none
                          -o ${exe} ${LIB} -Wl,-rpath,${libdir}
                  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${LANG}: vonage_api.c does not compile or link:\n${out}")
  endif()
  execute_process(COMMAND ${exe} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE out)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${LANG}: vonage_api failed (${rc}):\n${out}")
  endif()
  message(STATUS "${LANG}: vonage_api.c compiles, links and runs")
endif()
if(failed)
  message(FATAL_ERROR "${LANG}: headers that do not compile alone: ${failed}")
endif()
