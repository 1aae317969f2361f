/*
 * example.echo — a complete Flywheel driver in plain C.
 *
 * It echoes the task's prompt back as an assistant message, optionally asks the host to run
 * `echo hello` (when the task contains "run_command": true), honours cancel, and ends every run with
 * exactly one terminal event. Copy it as the starting point of your own driver; the comments say
 * which rule of flywheel/driver.h each part follows.
 *
 * Build: cc -std=c11 -Wall -Wextra -shared -fPIC -pthread -I <flywheel>/Sources/PluginABI/include \
 *           -o libexample_echo.so echo_driver.c
 */
#include <flywheel/driver.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* ---- small helpers --------------------------------------------------------------------------- */

static const flywheel_host_t *g_host; /* valid from init until deinit (ownership rule) */

static void log_line(int32_t level, const char *message) {
    g_host->log(g_host, level, message, strlen(message));
}

/* Reports why a call fails; the host attaches it to the status we return (error rule). */
static flywheel_status_t fail(flywheel_status_t status, const char *message) {
    g_host->set_error(g_host, message, strlen(message));
    return status;
}

/* Appends `text` to `out` as the body of a JSON string (without quotes), escaping as JSON requires.
 * Writes at most `capacity - 1` bytes and always NUL-terminates. Returns the length written. */
static size_t json_escape(char *out, size_t capacity, const char *text, size_t length) {
    size_t used = 0;
    for (size_t i = 0; i < length && used + 7 < capacity; i++) {
        unsigned char c = (unsigned char)text[i];
        if (c == '"' || c == '\\') {
            out[used++] = '\\';
            out[used++] = (char)c;
        } else if (c == '\n') {
            out[used++] = '\\';
            out[used++] = 'n';
        } else if (c < 0x20) {
            used += (size_t)snprintf(out + used, capacity - used, "\\u%04x", c);
        } else {
            out[used++] = (char)c;
        }
    }
    out[used] = '\0';
    return used;
}

/* Finds the string value of "key" in a flat JSON object and copies it, still escaped, into `out`.
 * A tiny scanner for a tiny example: a real driver should use a JSON library. Never reads past
 * `length`. Returns 1 when found. */
static int json_find_string(const char *json, size_t length, const char *key, char *out, size_t capacity) {
    char pattern[64];
    int pattern_length = snprintf(pattern, sizeof pattern, "\"%s\"", key);
    if (pattern_length <= 0 || (size_t)pattern_length >= sizeof pattern) return 0;
    for (size_t i = 0; i + (size_t)pattern_length <= length; i++) {
        if (memcmp(json + i, pattern, (size_t)pattern_length) != 0) continue;
        size_t j = i + (size_t)pattern_length;
        while (j < length && (json[j] == ' ' || json[j] == ':')) j++;
        if (j >= length || json[j] != '"') return 0;
        j++;
        size_t used = 0;
        while (j < length && json[j] != '"' && used + 1 < capacity) {
            if (json[j] == '\\' && j + 1 < length) out[used++] = json[j++]; /* keep the escape as is */
            if (used + 1 < capacity) out[used++] = json[j++];
        }
        out[used] = '\0';
        return 1;
    }
    return 0;
}

static void emit(const flywheel_run_host_t *run, const char *json) {
    run->emit(run, json, strlen(json)); /* thread-safe: called from our worker thread */
}

/* ---- runs -------------------------------------------------------------------------------------- */

typedef struct echo_run {
    const flywheel_run_host_t *run; /* valid until destroy returns (ownership rule) */
    char prompt[2048];              /* still JSON-escaped, so it can go straight back into JSON */
    int run_command;
    atomic_int cancelled;
    atomic_int finished;
    pthread_t thread;
    struct echo_run *next;
    /* the command round trip */
    pthread_mutex_t lock;
    pthread_cond_t answered;
    int has_answer;
    char answer[256];
} echo_run_t;

typedef struct echo_driver {
    flywheel_driver_t base; /* first member, so the host's pointer is also ours */
    pthread_mutex_t lock;
    echo_run_t *runs;
} echo_driver_t;

/* [host-thread] The host's answer to our command request. */
static void on_command_result(void *user_data, flywheel_status_t status, const char *result, size_t length) {
    echo_run_t *run = user_data;
    pthread_mutex_lock(&run->lock);
    if (status == FLYWHEEL_OK && result) {
        char exit_code[32] = "none";
        const char *found = strstr(result, "\"exit_code\":");
        if (found && (size_t)(found - result) < length) sscanf(found + 12, "%31[^,}]", exit_code);
        char decision[32] = "unknown";
        json_find_string(result, length, "decision", decision, sizeof decision);
        snprintf(run->answer, sizeof run->answer, "command decision %s, exit code %s", decision, exit_code);
    } else {
        snprintf(run->answer, sizeof run->answer, "the run ended before the command finished");
    }
    run->has_answer = 1;
    pthread_cond_signal(&run->answered);
    pthread_mutex_unlock(&run->lock);
}

static void sleep_ms(long ms) {
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static void *run_worker(void *arg) {
    echo_run_t *run = arg;
    char json[4600];
    emit(run->run, "{\"type\":\"status\",\"message\":\"echo driver started\"}");

    if (run->run_command) {
        static const char request[] = "{\"command\":\"echo hello\"}";
        if (run->run->request_command(run->run, request, sizeof request - 1, on_command_result, run) == FLYWHEEL_OK) {
            pthread_mutex_lock(&run->lock);
            while (!run->has_answer) pthread_cond_wait(&run->answered, &run->lock);
            char escaped[600];
            json_escape(escaped, sizeof escaped, run->answer, strlen(run->answer));
            pthread_mutex_unlock(&run->lock);
            snprintf(json, sizeof json, "{\"type\":\"status\",\"message\":\"%s\"}", escaped);
            emit(run->run, json);
        }
    }

    /* Pretend to think for a moment, checking for cancel as a real driver would. */
    for (int i = 0; i < 5; i++) {
        if (atomic_load(&run->cancelled)) {
            emit(run->run, "{\"type\":\"cancelled\"}");
            atomic_store(&run->finished, 1);
            return NULL;
        }
        sleep_ms(20);
    }
    snprintf(json, sizeof json, "{\"type\":\"message\",\"role\":\"assistant\",\"text\":\"%s\"}", run->prompt);
    emit(run->run, json);
    emit(run->run, "{\"type\":\"completed\",\"summary\":\"echoed the prompt\"}");
    atomic_store(&run->finished, 1);
    return NULL;
}

/* [instance-serialised] Starts a run and returns at once (execute rule). */
static flywheel_status_t echo_execute(flywheel_driver_t *base, const flywheel_run_host_t *host_run,
                                      const char *task, size_t length) {
    echo_driver_t *driver = (echo_driver_t *)base;
    if (!task || length == 0 || task[0] != '{') return fail(FLYWHEEL_ERR_INVALID_ARGUMENT, "the task is not a JSON object");
    echo_run_t *run = calloc(1, sizeof *run);
    if (!run) return fail(FLYWHEEL_ERR_OUT_OF_MEMORY, "out of memory");
    run->run = host_run;
    if (!json_find_string(task, length, "prompt", run->prompt, sizeof run->prompt)) run->prompt[0] = '\0';
    const char *flag = strstr(task, "\"run_command\"");
    run->run_command = flag && (size_t)(flag - task) < length && strstr(flag, "true") != NULL;
    pthread_mutex_init(&run->lock, NULL);
    pthread_cond_init(&run->answered, NULL);
    if (pthread_create(&run->thread, NULL, run_worker, run) != 0) {
        free(run);
        return fail(FLYWHEEL_ERR_INTERNAL, "could not start a thread");
    }
    pthread_mutex_lock(&driver->lock);
    run->next = driver->runs;
    driver->runs = run;
    pthread_mutex_unlock(&driver->lock);
    return FLYWHEEL_OK;
}

/* [instance-serialised] Flags the run; its worker emits `cancelled` promptly (cancel rule). */
static flywheel_status_t echo_cancel(flywheel_driver_t *base, uint64_t run_id) {
    echo_driver_t *driver = (echo_driver_t *)base;
    flywheel_status_t status = FLYWHEEL_ERR_NOT_FOUND;
    pthread_mutex_lock(&driver->lock);
    for (echo_run_t *run = driver->runs; run; run = run->next) {
        if (run->run->run_id == run_id && !atomic_load(&run->finished)) {
            atomic_store(&run->cancelled, 1);
            status = FLYWHEEL_OK;
        }
    }
    pthread_mutex_unlock(&driver->lock);
    return status;
}

/* [instance-serialised] Stops everything, joins the threads, frees the instance. */
static void echo_destroy(flywheel_driver_t *base) {
    echo_driver_t *driver = (echo_driver_t *)base;
    echo_run_t *run = driver->runs;
    while (run) {
        echo_run_t *next = run->next;
        atomic_store(&run->cancelled, 1);
        pthread_join(run->thread, NULL);
        pthread_mutex_destroy(&run->lock);
        pthread_cond_destroy(&run->answered);
        free(run);
        run = next;
    }
    pthread_mutex_destroy(&driver->lock);
    free(driver);
}

/* ---- the plugin entry ------------------------------------------------------------------------- */

static flywheel_status_t echo_init(const flywheel_host_t *host) {
    g_host = host; /* fast and side-effect free (init rule) */
    return FLYWHEEL_OK;
}

static void echo_deinit(void) { g_host = NULL; }

static const flywheel_driver_descriptor_t descriptor = {
    .struct_size = sizeof(flywheel_driver_descriptor_t),
    .id = "example.echo",
    .name = "Echo (C example)",
    .version = "1.0.0",
    .vendor = "Flywheel examples",
    .description = "Echoes the task's prompt; shows every part of the driver ABI in plain C.",
    .capabilities_json = "{}",
};

static const flywheel_driver_descriptor_t *echo_get_descriptor(void) { return &descriptor; }

/* [entry-serialised] The config must be a JSON object; we accept any object. */
static flywheel_status_t echo_create(const flywheel_host_t *host, const char *config, size_t length,
                                     flywheel_driver_t **out) {
    (void)host;
    size_t i = 0;
    while (i < length && (config[i] == ' ' || config[i] == '\n' || config[i] == '\t')) i++;
    if (!config || i >= length || config[i] != '{') {
        return fail(FLYWHEEL_ERR_INVALID_CONFIG, "the echo driver's config must be a JSON object");
    }
    echo_driver_t *driver = calloc(1, sizeof *driver);
    if (!driver) return fail(FLYWHEEL_ERR_OUT_OF_MEMORY, "out of memory");
    driver->base = (flywheel_driver_t){
        .struct_size = sizeof(flywheel_driver_t),
        .execute = echo_execute,
        .cancel = echo_cancel,
        .destroy = echo_destroy,
        .get_extension = NULL,
    };
    pthread_mutex_init(&driver->lock, NULL);
    log_line(FLYWHEEL_LOG_INFO, "echo driver instance created");
    *out = &driver->base;
    return FLYWHEEL_OK;
}

static const flywheel_plugin_entry_t entry = {
    .abi_version = FLYWHEEL_ABI_VERSION_INIT,
    .struct_size = sizeof(flywheel_plugin_entry_t),
    .init = echo_init,
    .deinit = echo_deinit,
    .get_descriptor = echo_get_descriptor,
    .create_driver = echo_create,
};

/* The one exported symbol (entry rule). */
FLYWHEEL_EXPORT const flywheel_plugin_entry_t *flywheel_plugin_entry(void) { return &entry; }
