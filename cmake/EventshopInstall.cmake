# Install rules and the CMake package (fmt's recipe): headers, one export set per component,
# eventshop-config.cmake that includes the requested components' targets after finding only
# their dependencies, a version file, a build-tree export, and eventshop.pc for pkg-config.
include(CMakePackageConfigHelpers)

set(EVENTSHOP_CMAKE_DIR ${CMAKE_INSTALL_LIBDIR}/cmake/eventshop)
get_property(_components GLOBAL PROPERTY EVENTSHOP_COMPONENTS)

install(DIRECTORY ${PROJECT_SOURCE_DIR}/include/eventshop DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}
        FILES_MATCHING PATTERN "*.hpp")
install(FILES ${PROJECT_BINARY_DIR}/include/eventshop/version.hpp
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/eventshop)

foreach(c IN LISTS _components)
  install(TARGETS eventshop_${c} EXPORT eventshop-${c}-targets
          ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
          LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
          RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
  install(EXPORT eventshop-${c}-targets NAMESPACE eventshop:: DESTINATION ${EVENTSHOP_CMAKE_DIR})
  export(EXPORT eventshop-${c}-targets NAMESPACE eventshop::
         FILE ${PROJECT_BINARY_DIR}/eventshop-${c}-targets.cmake)
  # What this component's consumers must find first.
  get_property(_deps GLOBAL PROPERTY EVENTSHOP_${c}_FIND_DEPENDENCIES)
  set(_content "# generated: dependencies of eventshop::${c}\n")
  foreach(d IN LISTS _deps)
    string(REPLACE "|" ";" d "${d}")
    string(REPLACE ";" " " d "${d}")
    string(APPEND _content "find_dependency(${d})\n")
  endforeach()
  file(WRITE ${PROJECT_BINARY_DIR}/eventshop-${c}-deps.cmake "${_content}")
  install(FILES ${PROJECT_BINARY_DIR}/eventshop-${c}-deps.cmake DESTINATION ${EVENTSHOP_CMAKE_DIR})
endforeach()

install(TARGETS eventshop_eventshop EXPORT eventshop-umbrella-targets)
install(EXPORT eventshop-umbrella-targets NAMESPACE eventshop:: DESTINATION ${EVENTSHOP_CMAKE_DIR})

# Which eventshop components each component links, so that asking for one finds those too
# (realtime links http publicly, for example).
set(EVENTSHOP_COMPONENT_REQUIRES "")
foreach(c IN LISTS _components)
  get_target_property(_links eventshop_${c} LINK_LIBRARIES)
  get_target_property(_ilinks eventshop_${c} INTERFACE_LINK_LIBRARIES)
  set(_req "")
  foreach(l IN LISTS _links _ilinks)
    foreach(other IN LISTS _components)
      if(NOT other STREQUAL c AND (l STREQUAL "eventshop_${other}" OR l STREQUAL "eventshop::${other}"
                                   OR l MATCHES "\\$<LINK_ONLY:eventshop(_|::)${other}>"))
        list(APPEND _req ${other})
      endif()
    endforeach()
  endforeach()
  list(REMOVE_DUPLICATES _req)
  string(APPEND EVENTSHOP_COMPONENT_REQUIRES "set(_eventshop_requires_${c} \"${_req}\")\n")
endforeach()
set(EVENTSHOP_INSTALLED_COMPONENTS ${_components})
configure_package_config_file(${PROJECT_SOURCE_DIR}/cmake/eventshop-config.cmake.in
  ${PROJECT_BINARY_DIR}/eventshop-config.cmake INSTALL_DESTINATION ${EVENTSHOP_CMAKE_DIR})
write_basic_package_version_file(${PROJECT_BINARY_DIR}/eventshop-config-version.cmake
  VERSION ${PROJECT_VERSION} COMPATIBILITY SameMinorVersion)
install(FILES ${PROJECT_BINARY_DIR}/eventshop-config.cmake
              ${PROJECT_BINARY_DIR}/eventshop-config-version.cmake
        DESTINATION ${EVENTSHOP_CMAKE_DIR})

# pkg-config: the core library only (the components need CMake's dependency handling).
set(_pc_libs "-leventshop_core")
file(RELATIVE_PATH _pc_up /prefix/${CMAKE_INSTALL_LIBDIR}/pkgconfig /prefix)
configure_file(${PROJECT_SOURCE_DIR}/cmake/eventshop.pc.in ${PROJECT_BINARY_DIR}/eventshop.pc @ONLY)
install(FILES ${PROJECT_BINARY_DIR}/eventshop.pc DESTINATION ${CMAKE_INSTALL_LIBDIR}/pkgconfig)
