include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

set(FUNNEL_CONFIG_DIR "${CMAKE_INSTALL_LIBDIR}/cmake/funnel")

install(DIRECTORY include/funnel DESTINATION "${CMAKE_INSTALL_INCLUDEDIR}")
install(TARGETS funnel EXPORT funnelTargets
  ARCHIVE DESTINATION "${CMAKE_INSTALL_LIBDIR}"
  LIBRARY DESTINATION "${CMAKE_INSTALL_LIBDIR}"
  RUNTIME DESTINATION "${CMAKE_INSTALL_BINDIR}"
  INCLUDES DESTINATION "${CMAKE_INSTALL_INCLUDEDIR}")
install(EXPORT funnelTargets NAMESPACE funnel:: DESTINATION "${FUNNEL_CONFIG_DIR}")

configure_package_config_file(cmake/funnelConfig.cmake.in
  "${PROJECT_BINARY_DIR}/funnelConfig.cmake"
  INSTALL_DESTINATION "${FUNNEL_CONFIG_DIR}")
write_basic_package_version_file("${PROJECT_BINARY_DIR}/funnelConfigVersion.cmake"
  COMPATIBILITY SameMinorVersion)
install(FILES
  "${PROJECT_BINARY_DIR}/funnelConfig.cmake"
  "${PROJECT_BINARY_DIR}/funnelConfigVersion.cmake"
  cmake/funnel-dependencies.cmake
  DESTINATION "${FUNNEL_CONFIG_DIR}")
install(FILES LICENSE DESTINATION "${CMAKE_INSTALL_DATADIR}/doc/funnel")
