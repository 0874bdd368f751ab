# Finds OpenCV's core, imgproc and imgcodecs modules.
#
# Debian splits OpenCV per module; the per-module -dev packages (which is all
# frameprint needs) ship neither OpenCVConfig.cmake nor opencv4.pc, those come
# with the much larger libopencv-dev. Use the package config when present,
# otherwise locate headers and libraries directly.
# Defines the imported target OpenCV::imgcodecs (which brings core and imgproc).
find_package(OpenCV QUIET COMPONENTS core imgproc imgcodecs)
if(OpenCV_FOUND)
  add_library(OpenCV::imgcodecs INTERFACE IMPORTED)
  target_include_directories(OpenCV::imgcodecs INTERFACE ${OpenCV_INCLUDE_DIRS})
  target_link_libraries(OpenCV::imgcodecs INTERFACE ${OpenCV_LIBS})
  set(OpenCVImgcodecs_FOUND TRUE)
  return()
endif()

find_path(OpenCVImgcodecs_INCLUDE_DIR opencv2/imgcodecs.hpp PATH_SUFFIXES opencv4)
find_library(OpenCVImgcodecs_CORE_LIBRARY opencv_core)
find_library(OpenCVImgcodecs_IMGPROC_LIBRARY opencv_imgproc)
find_library(OpenCVImgcodecs_IMGCODECS_LIBRARY opencv_imgcodecs)

include(FindPackageHandleStandardArgs)
find_package_handle_standard_args(OpenCVImgcodecs REQUIRED_VARS
  OpenCVImgcodecs_INCLUDE_DIR OpenCVImgcodecs_CORE_LIBRARY
  OpenCVImgcodecs_IMGPROC_LIBRARY OpenCVImgcodecs_IMGCODECS_LIBRARY)

if(OpenCVImgcodecs_FOUND AND NOT TARGET OpenCV::imgcodecs)
  add_library(OpenCV::imgcodecs INTERFACE IMPORTED)
  target_include_directories(OpenCV::imgcodecs SYSTEM INTERFACE ${OpenCVImgcodecs_INCLUDE_DIR})
  target_link_libraries(OpenCV::imgcodecs INTERFACE
    ${OpenCVImgcodecs_IMGCODECS_LIBRARY} ${OpenCVImgcodecs_IMGPROC_LIBRARY}
    ${OpenCVImgcodecs_CORE_LIBRARY})
endif()
