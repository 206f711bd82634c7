/*
 * A fake libnvidia-ml.so.1 for tests: answers the NVML calls wslwatch makes with
 * values a test writes into a state file, so the real pynvml ctypes code runs
 * (struct layouts, the two-call process-list protocol, error codes) on a machine
 * without a GPU.
 *
 * The state is re-read on every call from the file named by FAKE_NVML_STATE:
 * `key=value` lines, keys as in tests/rigs/fake_nvml.py. No file, no variable or a
 * missing key: the default below.
 *
 * Build: gcc -shared -fPIC -O2 -Wall -Wextra -Werror -o libnvidia-ml.so.1 fake_nvml.c
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define NVML_SUCCESS 0
#define NVML_ERROR_UNINITIALIZED 1
#define NVML_ERROR_INVALID_ARGUMENT 2
#define NVML_ERROR_NOT_SUPPORTED 3
#define NVML_ERROR_INSUFFICIENT_SIZE 7
#define NVML_ERROR_FUNCTION_NOT_FOUND 13
#define NVML_ERROR_ARGUMENT_VERSION_MISMATCH 25

#define NVML_MEMORY_V2_VERSION 0x02000028u /* sizeof(nvmlMemory_v2_t) | 2 << 24 */
#define NVML_VALUE_NOT_AVAILABLE (~0ULL)
#define MIB (1024ULL * 1024ULL)

#define MAX_GPUS 8
#define MAX_PROCS 32
#define TEXT_LEN 96

typedef int nvmlReturn_t;

typedef struct {
    unsigned long long total, free, used;
} nvmlMemory_t;

typedef struct {
    unsigned int version;
    unsigned long long total, reserved, free, used;
} nvmlMemory_v2_t;

typedef struct {
    unsigned int gpu, memory;
} nvmlUtilization_t;

/* nvmlProcessInfo_v2_t and _v3_t share this layout. */
typedef struct {
    unsigned int pid;
    unsigned long long usedGpuMemory;
    unsigned int gpuInstanceId, computeInstanceId;
} nvmlProcessInfo_t;

struct fake_device {
    unsigned int index;
};
typedef struct fake_device *nvmlDevice_t;

struct fake_proc {
    unsigned int pid, gpu;
    unsigned long long mib;
};

struct fake_state {
    unsigned int count;
    char name[TEXT_LEN];
    char driver_version[TEXT_LEN];
    unsigned long long total_mib;
    unsigned long long used_mib[MAX_GPUS];
    unsigned int util_gpu, util_mem, temp_c, power_mw;
    struct fake_proc procs[2][MAX_PROCS]; /* [0]: compute, [1]: graphics */
    unsigned int n_procs[2];
    int init_error, query_error, util_error;
    unsigned int delay_ms;
    int no_v2, proc_mem_na;
};

static struct fake_device devices[MAX_GPUS];
static int init_refcount;

/* Tests call this between cases: the library stays loaded in the test process. */
void fake_nvml_reset(void) { init_refcount = 0; }

static void parse_used(struct fake_state *s, const char *value) {
    char *end;
    for (unsigned int i = 0; i < MAX_GPUS; i++) {
        s->used_mib[i] = strtoull(value, &end, 10);
        if (*end != ',') { /* the last value given holds for the remaining GPUs */
            for (unsigned int j = i + 1; j < MAX_GPUS; j++) s->used_mib[j] = s->used_mib[i];
            return;
        }
        value = end + 1;
    }
}

/* `pid:mib,...`; `pid:mib@gpu` puts a process on another GPU than 0. */
static void parse_procs(struct fake_state *s, int graphics, const char *value) {
    unsigned int *n = &s->n_procs[graphics];
    *n = 0;
    while (*value && *n < MAX_PROCS) {
        struct fake_proc *p = &s->procs[graphics][*n];
        p->gpu = 0;
        if (sscanf(value, "%u:%llu@%u", &p->pid, &p->mib, &p->gpu) >= 2) ++*n;
        const char *comma = strchr(value, ',');
        if (!comma) break;
        value = comma + 1;
    }
}

static void set_key(struct fake_state *s, const char *key, const char *value) {
    if (!strcmp(key, "count")) s->count = (unsigned int)atoi(value);
    else if (!strcmp(key, "name")) snprintf(s->name, sizeof s->name, "%s", value);
    else if (!strcmp(key, "driver_version")) snprintf(s->driver_version, sizeof s->driver_version, "%s", value);
    else if (!strcmp(key, "total_mib")) s->total_mib = strtoull(value, NULL, 10);
    else if (!strcmp(key, "used_mib")) parse_used(s, value);
    else if (!strcmp(key, "util_gpu")) s->util_gpu = (unsigned int)atoi(value);
    else if (!strcmp(key, "util_mem")) s->util_mem = (unsigned int)atoi(value);
    else if (!strcmp(key, "temp_c")) s->temp_c = (unsigned int)atoi(value);
    else if (!strcmp(key, "power_mw")) s->power_mw = (unsigned int)atoi(value);
    else if (!strcmp(key, "procs")) parse_procs(s, 0, value);
    else if (!strcmp(key, "graphics_procs")) parse_procs(s, 1, value);
    else if (!strcmp(key, "init_error")) s->init_error = atoi(value);
    else if (!strcmp(key, "query_error")) s->query_error = atoi(value);
    else if (!strcmp(key, "util_error")) s->util_error = atoi(value);
    else if (!strcmp(key, "delay_ms")) s->delay_ms = (unsigned int)atoi(value);
    else if (!strcmp(key, "no_v2")) s->no_v2 = atoi(value);
    else if (!strcmp(key, "proc_mem_na")) s->proc_mem_na = atoi(value);
}

static struct fake_state read_state(void) {
    struct fake_state s;
    memset(&s, 0, sizeof s);
    s.count = 1;
    snprintf(s.name, sizeof s.name, "Fake NVIDIA GPU");
    snprintf(s.driver_version, sizeof s.driver_version, "999.99");
    s.total_mib = 16384;
    s.temp_c = 40;
    s.power_mw = 50000;

    const char *path = getenv("FAKE_NVML_STATE");
    FILE *f = path ? fopen(path, "r") : NULL;
    if (!f) return s;
    char line[1024];
    while (fgets(line, sizeof line, f)) {
        line[strcspn(line, "\r\n")] = '\0';
        char *eq = strchr(line, '=');
        if (!eq) continue;
        *eq = '\0';
        set_key(&s, line, eq + 1);
    }
    fclose(f);
    if (s.count > MAX_GPUS) s.count = MAX_GPUS;
    return s;
}

static void hang(const struct fake_state *s) {
    if (!s->delay_ms) return;
    struct timespec t = {(time_t)(s->delay_ms / 1000), (long)(s->delay_ms % 1000) * 1000000L};
    nanosleep(&t, NULL);
}

/* The common prologue of every device query: initialised, not failing, a handle of ours. */
static nvmlReturn_t check_device(const struct fake_state *s, nvmlDevice_t device) {
    hang(s);
    if (init_refcount <= 0) return NVML_ERROR_UNINITIALIZED;
    if (s->query_error) return s->query_error;
    if (device < devices || device >= devices + MAX_GPUS || device->index >= s->count)
        return NVML_ERROR_INVALID_ARGUMENT;
    return NVML_SUCCESS;
}

static nvmlReturn_t copy_text(char *dest, unsigned int length, const char *text) {
    if (!dest || strlen(text) + 1 > length) return NVML_ERROR_INSUFFICIENT_SIZE;
    memcpy(dest, text, strlen(text) + 1);
    return NVML_SUCCESS;
}

nvmlReturn_t nvmlInitWithFlags(unsigned int flags) {
    (void)flags;
    struct fake_state s = read_state();
    hang(&s);
    if (s.init_error) return s.init_error;
    init_refcount++;
    return NVML_SUCCESS;
}

nvmlReturn_t nvmlInit_v2(void) { return nvmlInitWithFlags(0); }
nvmlReturn_t nvmlInit(void) { return nvmlInitWithFlags(0); }

nvmlReturn_t nvmlShutdown(void) {
    if (init_refcount <= 0) return NVML_ERROR_UNINITIALIZED;
    init_refcount--;
    return NVML_SUCCESS;
}

const char *nvmlErrorString(nvmlReturn_t result) {
    switch (result) {
    case 0: return "Success";
    case 1: return "Uninitialized";
    case 3: return "Not Supported";
    case 4: return "Insufficient Permissions";
    case 9: return "Driver Not Loaded";
    case 13: return "Function Not Found";
    case 15: return "GPU is lost";
    case 25: return "Argument version mismatch";
    default: return "Unknown Error";
    }
}

nvmlReturn_t nvmlSystemGetDriverVersion(char *version, unsigned int length) {
    struct fake_state s = read_state();
    if (init_refcount <= 0) return NVML_ERROR_UNINITIALIZED;
    return copy_text(version, length, s.driver_version);
}

nvmlReturn_t nvmlSystemGetNVMLVersion(char *version, unsigned int length) {
    if (init_refcount <= 0) return NVML_ERROR_UNINITIALIZED;
    return copy_text(version, length, "13.999.99");
}

nvmlReturn_t nvmlDeviceGetCount_v2(unsigned int *count) {
    struct fake_state s = read_state();
    hang(&s);
    if (init_refcount <= 0) return NVML_ERROR_UNINITIALIZED;
    if (s.query_error) return s.query_error;
    *count = s.count;
    return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetCount(unsigned int *count) { return nvmlDeviceGetCount_v2(count); }

nvmlReturn_t nvmlDeviceGetHandleByIndex_v2(unsigned int index, nvmlDevice_t *device) {
    struct fake_state s = read_state();
    hang(&s);
    if (init_refcount <= 0) return NVML_ERROR_UNINITIALIZED;
    if (s.query_error) return s.query_error;
    if (index >= s.count) return NVML_ERROR_INVALID_ARGUMENT;
    devices[index].index = index;
    *device = &devices[index];
    return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetHandleByIndex(unsigned int index, nvmlDevice_t *device) {
    return nvmlDeviceGetHandleByIndex_v2(index, device);
}

nvmlReturn_t nvmlDeviceGetName(nvmlDevice_t device, char *name, unsigned int length) {
    struct fake_state s = read_state();
    nvmlReturn_t ret = check_device(&s, device);
    return ret ? ret : copy_text(name, length, s.name);
}

nvmlReturn_t nvmlDeviceGetUUID(nvmlDevice_t device, char *uuid, unsigned int length) {
    struct fake_state s = read_state();
    nvmlReturn_t ret = check_device(&s, device);
    if (ret) return ret;
    char text[TEXT_LEN];
    snprintf(text, sizeof text, "GPU-fa4e0000-0000-4000-8000-%012u", device->index);
    return copy_text(uuid, length, text);
}

nvmlReturn_t nvmlDeviceGetMemoryInfo(nvmlDevice_t device, nvmlMemory_t *memory) {
    struct fake_state s = read_state();
    nvmlReturn_t ret = check_device(&s, device);
    if (ret) return ret;
    memory->total = s.total_mib * MIB;
    memory->used = s.used_mib[device->index] * MIB;
    memory->free = memory->total - memory->used;
    return NVML_SUCCESS;
}

/* v2 reports a fixed 256 MiB as reserved and, like real drivers, leaves it out of `used`. */
nvmlReturn_t nvmlDeviceGetMemoryInfo_v2(nvmlDevice_t device, nvmlMemory_v2_t *memory) {
    struct fake_state s = read_state();
    nvmlReturn_t ret = check_device(&s, device);
    if (ret) return ret;
    if (s.no_v2) return s.no_v2 == 1 ? NVML_ERROR_FUNCTION_NOT_FOUND : s.no_v2;
    if (memory->version != NVML_MEMORY_V2_VERSION) return NVML_ERROR_ARGUMENT_VERSION_MISMATCH;
    unsigned long long used = s.used_mib[device->index] * MIB;
    memory->total = s.total_mib * MIB;
    memory->reserved = 256 * MIB;
    memory->used = used > memory->reserved ? used - memory->reserved : 0;
    memory->free = memory->total - memory->reserved - memory->used;
    return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetUtilizationRates(nvmlDevice_t device, nvmlUtilization_t *utilization) {
    struct fake_state s = read_state();
    nvmlReturn_t ret = check_device(&s, device);
    if (ret) return ret;
    if (s.util_error) return s.util_error;
    utilization->gpu = s.util_gpu;
    utilization->memory = s.util_mem;
    return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetTemperature(nvmlDevice_t device, int sensor, unsigned int *temp) {
    struct fake_state s = read_state();
    nvmlReturn_t ret = check_device(&s, device);
    if (ret) return ret;
    if (sensor != 0) return NVML_ERROR_INVALID_ARGUMENT; /* only NVML_TEMPERATURE_GPU */
    *temp = s.temp_c;
    return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetPowerUsage(nvmlDevice_t device, unsigned int *power) {
    struct fake_state s = read_state();
    nvmlReturn_t ret = check_device(&s, device);
    if (ret) return ret;
    *power = s.power_mw;
    return NVML_SUCCESS;
}

/* The two-call protocol: (count=0, infos=NULL) asks for the size; INSUFFICIENT_SIZE says it. */
static nvmlReturn_t processes(nvmlDevice_t device, unsigned int *count, nvmlProcessInfo_t *infos, int graphics) {
    struct fake_state s = read_state();
    nvmlReturn_t ret = check_device(&s, device);
    if (ret) return ret;
    const struct fake_proc *procs = s.procs[graphics];
    unsigned int n = 0;
    for (unsigned int i = 0; i < s.n_procs[graphics]; i++) n += procs[i].gpu == device->index;
    if (*count < n || (n && !infos)) {
        *count = n;
        return NVML_ERROR_INSUFFICIENT_SIZE;
    }
    *count = n;
    for (unsigned int i = 0, k = 0; k < n; i++) {
        if (procs[i].gpu != device->index) continue;
        infos[k].pid = procs[i].pid;
        infos[k].usedGpuMemory = s.proc_mem_na ? NVML_VALUE_NOT_AVAILABLE : procs[i].mib * MIB;
        infos[k].gpuInstanceId = infos[k].computeInstanceId = ~0u;
        k++;
    }
    return NVML_SUCCESS;
}

nvmlReturn_t nvmlDeviceGetComputeRunningProcesses_v3(nvmlDevice_t d, unsigned int *count, nvmlProcessInfo_t *infos) {
    return processes(d, count, infos, 0);
}
nvmlReturn_t nvmlDeviceGetComputeRunningProcesses_v2(nvmlDevice_t d, unsigned int *count, nvmlProcessInfo_t *infos) {
    return processes(d, count, infos, 0);
}
nvmlReturn_t nvmlDeviceGetGraphicsRunningProcesses_v3(nvmlDevice_t d, unsigned int *count, nvmlProcessInfo_t *infos) {
    return processes(d, count, infos, 1);
}
nvmlReturn_t nvmlDeviceGetGraphicsRunningProcesses_v2(nvmlDevice_t d, unsigned int *count, nvmlProcessInfo_t *infos) {
    return processes(d, count, infos, 1);
}
