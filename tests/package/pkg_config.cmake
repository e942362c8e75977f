# cmake -DBUILD_DIR=... -DWORK_DIR=... -DSOURCE=... -DCXX=... -P pkg_config.cmake
# Installs, then compiles and runs a program with nothing but `pkg-config --cflags --libs eventshop`.
file(REMOVE_RECURSE ${WORK_DIR})
set(prefix ${WORK_DIR}/prefix)
execute_process(COMMAND ${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${prefix}
                RESULT_VARIABLE rc OUTPUT_QUIET ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "install failed: ${err}")
endif()
file(GLOB_RECURSE pc_files ${prefix}/*/eventshop.pc)
list(GET pc_files 0 pc)
get_filename_component(pc_dir ${pc} DIRECTORY)
set(ENV{PKG_CONFIG_PATH} ${pc_dir})
execute_process(COMMAND pkg-config --cflags --libs eventshop OUTPUT_VARIABLE flags RESULT_VARIABLE rc
                OUTPUT_STRIP_TRAILING_WHITESPACE)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "pkg-config does not know eventshop (PKG_CONFIG_PATH=${pc_dir})")
endif()
separate_arguments(flags UNIX_COMMAND "${flags}")
execute_process(COMMAND ${CXX} ${SOURCE} ${flags} -o ${WORK_DIR}/pc-quickstart
                RESULT_VARIABLE rc ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "compiling with pkg-config flags failed: ${flags}\n${err}")
endif()
execute_process(COMMAND ${WORK_DIR}/pc-quickstart RESULT_VARIABLE rc OUTPUT_VARIABLE out)
if(NOT rc EQUAL 0 OR NOT out MATCHES "all handled")
  message(FATAL_ERROR "program failed (${rc}): ${out}")
endif()
message(STATUS "pkg-config flags: ${flags}")
