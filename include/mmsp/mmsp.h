/* mmsp: everything the embeddable runtime offers, in one include. */
#ifndef MMSP_MMSP_H
#define MMSP_MMSP_H

#include "mmsp/error.h"
#include "mmsp/tensor.h"
#include "mmsp/runtime.h"

#define MMSP_VERSION "0.1.0"

#endif
