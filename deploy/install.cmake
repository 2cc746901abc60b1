# SPDX-License-Identifier: MIT
# install.cmake: run by `cmake --install`: the systemd units, configured with the prefix they
# are installed under (cmake --install --prefix P puts P/bin in ExecStart), the example configs
# beside the configs they are examples of, and the cron example.
# Set before it (CMakeLists.txt): FS_SRC, FS_BINREL, FS_ETCREL, FS_DOCREL.
if(IS_ABSOLUTE "${FS_ETCREL}")
  set(FS_SYSCONFDIR "${FS_ETCREL}")
elseif(CMAKE_INSTALL_PREFIX STREQUAL "/usr")
  set(FS_SYSCONFDIR "/etc")
else()
  set(FS_SYSCONFDIR "${CMAKE_INSTALL_PREFIX}/${FS_ETCREL}")
endif()
set(FS_BINDIR "${CMAKE_INSTALL_PREFIX}/${FS_BINREL}")
set(units "$ENV{DESTDIR}${CMAKE_INSTALL_PREFIX}/lib/systemd/system")
foreach(u fleetstat-agent fleetstat-collector)
  message(STATUS "Installing: ${units}/${u}.service")
  configure_file("${FS_SRC}/deploy/systemd/${u}.service.in" "${units}/${u}.service" @ONLY)
endforeach()
# file(INSTALL) puts DESTDIR before the destination itself (configure_file above does not).
file(INSTALL "${FS_SRC}/deploy/agent.ini.example" "${FS_SRC}/deploy/collector.ini.example"
     DESTINATION "${FS_SYSCONFDIR}/fleetstat")
file(INSTALL "${FS_SRC}/deploy/cron/fleetstat-summary"
     DESTINATION "${CMAKE_INSTALL_PREFIX}/${FS_DOCREL}/examples")
