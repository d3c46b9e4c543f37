/* The probes of provider `lab` (see lab_tp.h), compiled into the app. */
#define TRACEPOINT_CREATE_PROBES
#define TRACEPOINT_DEFINE
#include "lab_tp.h"
