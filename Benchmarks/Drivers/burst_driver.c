/* A driver that emits a burst of small events from several threads as fast as it can, for the
 * event-crossing benchmark. The task's prompt is "<events per thread> <threads>". */
#include <flywheel/driver.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct burst {
    const flywheel_run_host_t *run;
    long count;
    int thread;
} burst_t;

static void *emit_burst(void *arg) {
    burst_t *burst = arg;
    char json[96];
    for (long i = 0; i < burst->count; i++) {
        int length = snprintf(json, sizeof json, "{\"type\":\"x-tick\",\"t\":%d,\"n\":%ld}", burst->thread, i);
        burst->run->emit(burst->run, json, (size_t)length);
    }
    return NULL;
}

typedef struct run_state {
    const flywheel_run_host_t *run;
    long per_thread;
    int threads;
} run_state_t;

static void *coordinate(void *arg) {
    run_state_t *state = arg;
    pthread_t workers[16];
    burst_t bursts[16];
    for (int t = 0; t < state->threads; t++) {
        bursts[t] = (burst_t){state->run, state->per_thread, t};
        pthread_create(&workers[t], NULL, emit_burst, &bursts[t]);
    }
    for (int t = 0; t < state->threads; t++) pthread_join(workers[t], NULL);
    static const char done[] = "{\"type\":\"completed\",\"summary\":\"burst done\"}";
    state->run->emit(state->run, done, sizeof done - 1);
    free(state);
    return NULL;
}

static flywheel_status_t execute(flywheel_driver_t *driver, const flywheel_run_host_t *run, const char *task, size_t length) {
    (void)driver;
    (void)length;
    const char *prompt = strstr(task, "\"prompt\":\"");
    run_state_t *state = calloc(1, sizeof *state);
    if (!state) return FLYWHEEL_ERR_OUT_OF_MEMORY;
    state->run = run;
    state->per_thread = 1000;
    state->threads = 2;
    if (prompt) sscanf(prompt + 10, "%ld %d", &state->per_thread, &state->threads);
    if (state->threads < 1 || state->threads > 16) state->threads = 2;
    pthread_t coordinator;
    pthread_create(&coordinator, NULL, coordinate, state);
    pthread_detach(coordinator);
    return FLYWHEEL_OK;
}

static flywheel_status_t cancel(flywheel_driver_t *driver, uint64_t run_id) {
    (void)driver;
    (void)run_id;
    return FLYWHEEL_ERR_NOT_FOUND;
}

static void destroy(flywheel_driver_t *driver) { free(driver); }

static flywheel_status_t init(const flywheel_host_t *host) {
    (void)host;
    return FLYWHEEL_OK;
}

static const flywheel_driver_descriptor_t descriptor = {
    sizeof(flywheel_driver_descriptor_t), 0, "bench.burst", "Burst", "1.0.0", NULL, NULL, NULL};

static const flywheel_driver_descriptor_t *get_descriptor(void) { return &descriptor; }

static flywheel_status_t create_driver(const flywheel_host_t *host, const char *config, size_t length, flywheel_driver_t **out) {
    (void)host;
    (void)config;
    (void)length;
    flywheel_driver_t *driver = calloc(1, sizeof *driver);
    if (!driver) return FLYWHEEL_ERR_OUT_OF_MEMORY;
    *driver = (flywheel_driver_t){sizeof(flywheel_driver_t), 0, NULL, execute, cancel, destroy, NULL};
    *out = driver;
    return FLYWHEEL_OK;
}

static const flywheel_plugin_entry_t entry = {
    FLYWHEEL_ABI_VERSION_INIT, sizeof(flywheel_plugin_entry_t), init, NULL, get_descriptor, create_driver};

FLYWHEEL_EXPORT const flywheel_plugin_entry_t *flywheel_plugin_entry(void) { return &entry; }
