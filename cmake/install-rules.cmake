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
if(FUNNEL_HAS_ONNX)
  # funnel::onnx in an export set of its own: funnelConfig.cmake loads it only when the consumer
  # has libonnx-dev too (the component "onnx" of find_package(funnel COMPONENTS onnx)).
  install(TARGETS funnel_onnx EXPORT funnelOnnxTargets
    ARCHIVE DESTINATION "${CMAKE_INSTALL_LIBDIR}"
    LIBRARY DESTINATION "${CMAKE_INSTALL_LIBDIR}"
    RUNTIME DESTINATION "${CMAKE_INSTALL_BINDIR}"
    INCLUDES DESTINATION "${CMAKE_INSTALL_INCLUDEDIR}")
  install(EXPORT funnelOnnxTargets NAMESPACE funnel:: FILE funnelOnnxTargets.cmake
    DESTINATION "${FUNNEL_CONFIG_DIR}")
  install(FILES cmake/funnel-onnx-dependencies.cmake DESTINATION "${FUNNEL_CONFIG_DIR}")
endif()

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
