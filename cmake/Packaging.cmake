# Debian packages, built by `cmake --build build --target package` (CPack
# DEB; docs/packages.md):
#   frameprint          the programs, the stills module, systemd units with
#                       their configuration, man pages
#   python3-frameprint  the Python package (when the module is built)
# A build with nvcc carries the CUDA backend inside the same programs (the
# CUDA runtime is linked statically and loads the driver when there is
# one), so one `frameprint` package serves CPU and GPU hosts.

install(TARGETS frameprint frameprint-worker frameprint-broker
        RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR} COMPONENT programs)

set(pkg ${CMAKE_SOURCE_DIR}/scripts/packaging)
install(FILES ${pkg}/systemd/frameprint-broker.service ${pkg}/systemd/frameprint-worker@.service
              ${pkg}/systemd/frameprint-serve.service
        DESTINATION /lib/systemd/system COMPONENT programs)
install(FILES ${pkg}/systemd/frameprint.sysusers RENAME frameprint.conf
        DESTINATION lib/sysusers.d COMPONENT programs)
install(FILES ${pkg}/etc/broker.conf ${pkg}/etc/worker.conf ${pkg}/etc/serve.conf
        DESTINATION /etc/frameprint COMPONENT programs)
install(DIRECTORY DESTINATION /etc/frameprint/keys COMPONENT programs)
install(FILES ${pkg}/gpu-worker.conf DESTINATION ${CMAKE_INSTALL_DOCDIR}/examples
        COMPONENT programs)
install(FILES ${CMAKE_SOURCE_DIR}/README.md DESTINATION share/doc/frameprint COMPONENT programs)

# copyright and changelog.gz in each package's documentation directory.
string(TIMESTAMP changelog_date "%a, %d %b %Y %H:%M:%S +0000" UTC)
set(maintainer "frameprint developers <frameprint-dev@example.org>")
file(WRITE ${CMAKE_BINARY_DIR}/packaging/changelog
     "frameprint (${PROJECT_VERSION}) unstable; urgency=medium\n\n"
     "  * Built from the frameprint source tree with CPack.\n\n"
     " -- ${maintainer}  ${changelog_date}\n")
add_custom_command(OUTPUT ${CMAKE_BINARY_DIR}/packaging/changelog.gz
  COMMAND gzip -9nf -k ${CMAKE_BINARY_DIR}/packaging/changelog
  DEPENDS ${CMAKE_BINARY_DIR}/packaging/changelog)
set(package_docs ${CMAKE_BINARY_DIR}/packaging/changelog.gz)

# Man pages from the programs' --help (help2man), when it is installed.
find_program(HELP2MAN help2man)
if(HELP2MAN)
  foreach(program frameprint frameprint-worker frameprint-broker)
    set(page ${CMAKE_BINARY_DIR}/packaging/${program}.1)
    add_custom_command(OUTPUT ${page}.gz
      COMMAND ${HELP2MAN} --no-info --no-discard-stderr --section=1
              --name=${program} --output=${page} $<TARGET_FILE:${program}>
      COMMAND gzip -9nf ${page}
      DEPENDS ${program})
    list(APPEND package_docs ${page}.gz)
    install(FILES ${page}.gz DESTINATION ${CMAKE_INSTALL_MANDIR}/man1 COMPONENT programs)
  endforeach()
endif()
add_custom_target(frameprint_package_docs ALL DEPENDS ${package_docs})

foreach(component programs python)
  set(doc share/doc/frameprint)
  if(component STREQUAL "python")
    set(doc share/doc/python3-frameprint)
  endif()
  install(FILES ${pkg}/copyright ${CMAKE_BINARY_DIR}/packaging/changelog.gz DESTINATION ${doc}
          COMPONENT ${component})
endforeach()

set(CPACK_GENERATOR DEB)
set(CPACK_PACKAGE_NAME frameprint)
set(CPACK_PACKAGE_VERSION ${PROJECT_VERSION})
set(CPACK_PACKAGE_CONTACT "${maintainer}")
set(CPACK_DEBIAN_PACKAGE_MAINTAINER "${maintainer}")
set(CPACK_PACKAGING_INSTALL_PREFIX /usr)
set(CPACK_DEB_COMPONENT_INSTALL ON)
set(CPACK_COMPONENTS_ALL programs)
if(FRAMEPRINT_HAVE_PYTHON)
  list(APPEND CPACK_COMPONENTS_ALL python)
endif()
set(CPACK_DEBIAN_FILE_NAME DEB-DEFAULT)
set(CPACK_DEBIAN_PACKAGE_SHLIBDEPS ON)
set(CPACK_DEBIAN_PACKAGE_GENERATE_SHLIBS OFF)
set(CPACK_STRIP_FILES ON)
set(CPACK_DEBIAN_PACKAGE_CONTROL_STRICT_PERMISSION ON)
set(CPACK_DEBIAN_PACKAGE_PRIORITY optional)
set(CPACK_DEBIAN_PACKAGE_HOMEPAGE "https://frameprint.example.org/")

set(CPACK_DEBIAN_PROGRAMS_PACKAGE_NAME frameprint)
set(CPACK_DEBIAN_PROGRAMS_PACKAGE_SECTION video)
set(CPACK_COMPONENT_PROGRAMS_DESCRIPTION "PDQ and vPDQ hashing and hash-list matching
frameprint hashes images and videos (PDQ, vPDQ, MD5, SHA-256) and matches
them against hash lists (Take It Down, StopNCII, ThreatExchange), from
the command line, as an HTTP API or as a pool of workers behind a broker.
Built with nvcc, it hashes on NVIDIA GPUs when a driver is present.")
set(CPACK_DEBIAN_PROGRAMS_PACKAGE_DEPENDS "adduser")
set(CPACK_DEBIAN_PROGRAMS_PACKAGE_CONTROL_EXTRA
    ${pkg}/debian/postinst ${pkg}/debian/prerm ${pkg}/debian/postrm ${pkg}/debian/conffiles)

set(CPACK_DEBIAN_PYTHON_PACKAGE_NAME python3-frameprint)
set(CPACK_DEBIAN_PYTHON_PACKAGE_SECTION python)
set(CPACK_COMPONENT_PYTHON_DESCRIPTION "PDQ and vPDQ hashing and hash-list matching (Python 3)
The frameprint Python package: frameprint.hash_file, hash lists, and
drop-in frameprint.pdqhash and frameprint.vpdq modules for code written
for the pdqhash and vpdq packages.")
# CPack takes control files by their names: copies named postinst and prerm.
foreach(script postinst prerm)
  configure_file(${pkg}/debian/python-${script} ${CMAKE_BINARY_DIR}/packaging/python/${script}
                 COPYONLY)
endforeach()
set(CPACK_DEBIAN_PYTHON_PACKAGE_CONTROL_EXTRA
    ${CMAKE_BINARY_DIR}/packaging/python/postinst ${CMAKE_BINARY_DIR}/packaging/python/prerm)
math(EXPR next_minor "${Python_VERSION_MINOR} + 1")
set(CPACK_DEBIAN_PYTHON_PACKAGE_DEPENDS
    "python3 (>= ${Python_VERSION_MAJOR}.${Python_VERSION_MINOR}~), python3 (<< ${Python_VERSION_MAJOR}.${next_minor}), python3-numpy")

include(CPack)
