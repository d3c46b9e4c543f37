/* The probes of provider `demo` (see tp_demo_tp.h), compiled into the app. */
#define TRACEPOINT_CREATE_PROBES
#define TRACEPOINT_DEFINE
#include "tp_demo_tp.h"
