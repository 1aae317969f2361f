/*
 * test.scripted — a driver whose behaviour the task's prompt scripts, for the host's tests.
 *
 * The prompt is a list of key=value words, e.g. "events=1000 threads=2 checkpoint_every=100":
 *   events=N            emit N {"type":"x-tick","t":<thread>,"n":<i>} events (default 3)
 *   threads=T           split them over T emitting threads (1..8, default 1); n counts per thread
 *   rate=R              at most R events per second per thread (0, the default: as fast as possible)
 *   command=CMD         before the ticks, ask the host to run CMD ('+' stands for a space) and emit
 *                       {"type":"status","message":"command <decision> exit <code>"} with the answer
 *   command_env=N:V     with command: add N=V to the request's env
 *   decision_only=1     with command: ask for the decision only ("execute": false, ABI 1.1); the
 *                       status then reads "command <decision> exit <code> delegated <true|false>"
 *   checkpoint_every=K  offer the counter as a checkpoint through flywheel.host.checkpoint/1 every K
 *                       events of thread 0
 *   crash_after=N       abort() the whole process after N events of a fresh run (a driver crashing its
 *                       host); a run resumed from a checkpoint never crashes
 *   hang=1              never emit a terminal event and ignore cancel
 *   fail=1              end with {"type":"failed","error":"scripted failure","retryable":false}
 *   rate_limited=S      emit rate_limited (retry_after_seconds S, the task's account provider), then
 *                       a retryable failure
 *   limited_label=L     with rate_limited: only when the task's account label is L (others complete)
 *   account_echo=1      emit a status naming the account label from the task (never credentials)
 * A run ends with {"type":"completed","summary":"<n> events"} unless the script says otherwise, or
 * with "cancelled" after cancel. The driver implements flywheel.checkpoint/1: save hands over the
 * counter of thread 0 as text, and resume continues counting from it.
 *
 * An instance whose config is {"account_provider":"P"} states through flywheel.instance/1 (ABI 1.2)
 * that its runs need a P account.
 *
 * Built by the tests plain (id test.scripted), with -DSCRIPTED_PROVIDER=\"testprov\" (id
 * test.scripted-account, declaring that its runs need a "testprov" account), and with
 * -DSCRIPTED_DRIVER_ID=\"…\" for a driver of another id (plugin reload).
 */
#include <flywheel/driver.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#if defined(SCRIPTED_DRIVER_ID)
#define SCRIPTED_ID SCRIPTED_DRIVER_ID
#define SCRIPTED_CAPABILITIES "{}"
#elif defined(SCRIPTED_PROVIDER)
#define SCRIPTED_ID "test.scripted-account"
#define SCRIPTED_CAPABILITIES "{\"account_provider\":\"" SCRIPTED_PROVIDER "\"}"
#else
#define SCRIPTED_ID "test.scripted"
#define SCRIPTED_CAPABILITIES "{}"
#endif

static const flywheel_host_t *g_host;
static const flywheel_host_checkpoint_extension_t *g_checkpoints;

typedef struct script {
    long events, rate, checkpoint_every, crash_after, rate_limited;
    int threads, hang, fail, account_echo, decision_only;
    char command[512];
    char command_env[256];
    char provider[64];
    char label[64];
    char limited_label[64];
} script_t;

typedef struct scripted_run scripted_run_t;

typedef struct worker {
    scripted_run_t *run;
    int index;
    pthread_t thread;
} worker_t;

struct scripted_run {
    const flywheel_run_host_t *host;
    script_t script;
    long start;                /* first n of thread 0 (after a resume) */
    atomic_long counter;       /* events emitted by thread 0 so far, including the resumed ones */
    atomic_long total;         /* events emitted by all threads */
    atomic_int cancelled;
    atomic_int finished;
    pthread_t coordinator;
    worker_t workers[8];
    scripted_run_t *next;
    pthread_mutex_t lock;
    pthread_cond_t answered;
    int has_answer;
    char answer[160];
};

typedef struct scripted_driver {
    flywheel_driver_t base;
    pthread_mutex_t lock;
    scripted_run_t *runs;
    /* This instance's capabilities (flywheel.instance/1): set when its config names an account_provider. */
    char capabilities[160];
} scripted_driver_t;

static void emit(const flywheel_run_host_t *run, const char *json) { run->emit(run, json, strlen(json)); }

static void sleep_ns(long ns) {
    struct timespec ts = {ns / 1000000000L, ns % 1000000000L};
    nanosleep(&ts, NULL);
}

/* Copies a JSON string value for "key" found after `from` (no unescaping; test data is plain). */
static void find_string(const char *json, const char *key, char *out, size_t capacity) {
    out[0] = '\0';
    char pattern[48];
    snprintf(pattern, sizeof pattern, "\"%s\":\"", key);
    const char *found = strstr(json, pattern);
    if (!found) return;
    found += strlen(pattern);
    size_t used = 0;
    while (found[used] && found[used] != '"' && used + 1 < capacity) {
        out[used] = found[used];
        used++;
    }
    out[used] = '\0';
}

static void parse_script(const char *task, script_t *script) {
    memset(script, 0, sizeof *script);
    script->events = 3;
    script->threads = 1;
    char prompt[1024];
    find_string(task, "prompt", prompt, sizeof prompt);
    char *save = NULL;
    for (char *word = strtok_r(prompt, " ", &save); word; word = strtok_r(NULL, " ", &save)) {
        char *value = strchr(word, '=');
        if (!value) continue;
        *value++ = '\0';
        if (!strcmp(word, "events")) script->events = atol(value);
        else if (!strcmp(word, "threads")) script->threads = atoi(value);
        else if (!strcmp(word, "rate")) script->rate = atol(value);
        else if (!strcmp(word, "checkpoint_every")) script->checkpoint_every = atol(value);
        else if (!strcmp(word, "crash_after")) script->crash_after = atol(value);
        else if (!strcmp(word, "hang")) script->hang = atoi(value);
        else if (!strcmp(word, "fail")) script->fail = atoi(value);
        else if (!strcmp(word, "rate_limited")) script->rate_limited = atol(value);
        else if (!strcmp(word, "account_echo")) script->account_echo = atoi(value);
        else if (!strcmp(word, "decision_only")) script->decision_only = atoi(value);
        else if (!strcmp(word, "limited_label")) snprintf(script->limited_label, sizeof script->limited_label, "%s", value);
        else if (!strcmp(word, "command_env")) {
            snprintf(script->command_env, sizeof script->command_env, "%s", value);
            char *colon = strchr(script->command_env, ':');
            if (colon) *colon = '=';
        }
        else if (!strcmp(word, "command")) {
            snprintf(script->command, sizeof script->command, "%s", value);
            for (char *c = script->command; *c; c++) if (*c == '+') *c = ' ';
        }
    }
    if (script->threads < 1) script->threads = 1;
    if (script->threads > 8) script->threads = 8;
    /* The account sits in the task as {"account":{"provider":"…","label":"…","credentials":…}}. */
    const char *account = strstr(task, "\"account\":");
    if (account) {
        find_string(account, "provider", script->provider, sizeof script->provider);
        find_string(account, "label", script->label, sizeof script->label);
    }
}

static void offer_checkpoint(scripted_run_t *run, long counter) {
    if (!g_checkpoints) return;
    char state[32];
    int length = snprintf(state, sizeof state, "n=%ld", counter);
    g_checkpoints->offer(run->host, (const uint8_t *)state, (size_t)length);
}

static void *emit_ticks(void *arg) {
    worker_t *worker = arg;
    scripted_run_t *run = worker->run;
    const script_t *script = &run->script;
    long share = script->events / script->threads + (worker->index < script->events % script->threads ? 1 : 0);
    long first = worker->index == 0 ? run->start : 0;
    long interval = script->rate > 0 ? 1000000000L / script->rate : 0;
    char json[96];
    for (long n = first; n < share; n++) {
        if (atomic_load(&run->cancelled) && !script->hang) return NULL;
        snprintf(json, sizeof json, "{\"type\":\"x-tick\",\"t\":%d,\"n\":%ld}", worker->index, n);
        emit(run->host, json);
        long total = atomic_fetch_add(&run->total, 1) + 1;
        if (worker->index == 0) {
            atomic_store(&run->counter, n + 1);
            if (script->checkpoint_every > 0 && (n + 1) % script->checkpoint_every == 0) offer_checkpoint(run, n + 1);
        }
        if (script->crash_after > 0 && run->start == 0 && total >= script->crash_after) abort();
        if (interval) sleep_ns(interval);
    }
    return NULL;
}

static void on_command(void *user_data, flywheel_status_t status, const char *result, size_t length) {
    scripted_run_t *run = user_data;
    pthread_mutex_lock(&run->lock);
    if (status == FLYWHEEL_OK && result) {
        char decision[32];
        find_string(result, "decision", decision, sizeof decision);
        char exit_code[24] = "none";
        const char *found = strstr(result, "\"exit_code\":");
        if (found && (size_t)(found - result) < length) sscanf(found + 12, "%23[^,}]", exit_code);
        const char *delegated = strstr(result, "\"delegated\":");
        if (delegated && (size_t)(delegated - result) < length) {
            snprintf(run->answer, sizeof run->answer, "command %s exit %s delegated %s", decision, exit_code,
                     strncmp(delegated + 12, "true", 4) == 0 ? "true" : "false");
        } else {
            snprintf(run->answer, sizeof run->answer, "command %s exit %s", decision, exit_code);
        }
    } else {
        snprintf(run->answer, sizeof run->answer, "command closed");
    }
    run->has_answer = 1;
    pthread_cond_signal(&run->answered);
    pthread_mutex_unlock(&run->lock);
}

static void *coordinate(void *arg) {
    scripted_run_t *run = arg;
    const script_t *script = &run->script;
    char json[512];
    if (script->account_echo) {
        snprintf(json, sizeof json, "{\"type\":\"status\",\"message\":\"account %s\"}", script->label);
        emit(run->host, json);
    }
    if (script->command[0]) {
        char request[1024];
        char *equals = strchr(script->command_env, '=');
        if (equals) {
            *equals = 0;
            snprintf(request, sizeof request, "{\"command\":\"%s\",\"env\":{\"%s\":\"%s\"}}", script->command,
                     script->command_env, equals + 1);
            *equals = '=';
        } else {
            snprintf(request, sizeof request, "{\"command\":\"%s\"}", script->command);
        }
        if (script->decision_only) {
            size_t used = strlen(request);
            snprintf(request + used - 1, sizeof request - used + 1, ",\"execute\":false}");
        }
        if (run->host->request_command(run->host, request, strlen(request), on_command, run) == FLYWHEEL_OK) {
            pthread_mutex_lock(&run->lock);
            while (!run->has_answer) pthread_cond_wait(&run->answered, &run->lock);
            pthread_mutex_unlock(&run->lock);
            snprintf(json, sizeof json, "{\"type\":\"status\",\"message\":\"%s\"}", run->answer);
            emit(run->host, json);
        } else {
            emit(run->host, "{\"type\":\"status\",\"message\":\"command refused\"}");
        }
    }
    for (int t = 0; t < script->threads; t++) {
        run->workers[t] = (worker_t){run, t, 0};
        pthread_create(&run->workers[t].thread, NULL, emit_ticks, &run->workers[t]);
    }
    for (int t = 0; t < script->threads; t++) pthread_join(run->workers[t].thread, NULL);

    if (script->hang) {
        while (!atomic_load(&run->finished)) sleep_ns(10000000L); /* until destroy */
        return NULL;
    }
    if (atomic_load(&run->cancelled)) {
        emit(run->host, "{\"type\":\"cancelled\"}");
    } else if (script->rate_limited > 0 && (!script->limited_label[0] || !strcmp(script->limited_label, script->label))) {
        snprintf(json, sizeof json, "{\"type\":\"rate_limited\",\"provider\":\"%s\",\"retry_after_seconds\":%ld}",
                 script->provider[0] ? script->provider : "unknown", script->rate_limited);
        emit(run->host, json);
        emit(run->host, "{\"type\":\"failed\",\"error\":\"rate limited\",\"retryable\":true}");
    } else if (script->fail) {
        emit(run->host, "{\"type\":\"failed\",\"error\":\"scripted failure\",\"retryable\":false}");
    } else {
        snprintf(json, sizeof json, "{\"type\":\"completed\",\"summary\":\"%ld events\"}", atomic_load(&run->total));
        emit(run->host, json);
    }
    atomic_store(&run->finished, 1);
    return NULL;
}

static flywheel_status_t start_run(scripted_driver_t *driver, const flywheel_run_host_t *host, const char *task, long start) {
    scripted_run_t *run = calloc(1, sizeof *run);
    if (!run) return FLYWHEEL_ERR_OUT_OF_MEMORY;
    run->host = host;
    run->start = start;
    atomic_store(&run->counter, start);
    parse_script(task, &run->script);
    pthread_mutex_init(&run->lock, NULL);
    pthread_cond_init(&run->answered, NULL);
    pthread_mutex_lock(&driver->lock);
    run->next = driver->runs;
    driver->runs = run;
    pthread_mutex_unlock(&driver->lock);
    pthread_create(&run->coordinator, NULL, coordinate, run);
    return FLYWHEEL_OK;
}

static flywheel_status_t scripted_execute(flywheel_driver_t *base, const flywheel_run_host_t *run, const char *task, size_t length) {
    if (!task || length == 0) return FLYWHEEL_ERR_INVALID_ARGUMENT;
    return start_run((scripted_driver_t *)base, run, task, 0);
}

static scripted_run_t *find_run(scripted_driver_t *driver, uint64_t run_id) {
    for (scripted_run_t *run = driver->runs; run; run = run->next)
        if (run->host->run_id == run_id) return run;
    return NULL;
}

static flywheel_status_t scripted_cancel(flywheel_driver_t *base, uint64_t run_id) {
    scripted_driver_t *driver = (scripted_driver_t *)base;
    pthread_mutex_lock(&driver->lock);
    scripted_run_t *run = find_run(driver, run_id);
    flywheel_status_t status = FLYWHEEL_ERR_NOT_FOUND;
    if (run && !atomic_load(&run->finished)) {
        atomic_store(&run->cancelled, 1);
        status = FLYWHEEL_OK;
    }
    pthread_mutex_unlock(&driver->lock);
    return status;
}

static void scripted_destroy(flywheel_driver_t *base) {
    scripted_driver_t *driver = (scripted_driver_t *)base;
    for (scripted_run_t *run = driver->runs; run;) {
        scripted_run_t *next = run->next;
        atomic_store(&run->cancelled, 1);
        atomic_store(&run->finished, 1);
        pthread_join(run->coordinator, NULL);
        pthread_mutex_destroy(&run->lock);
        pthread_cond_destroy(&run->answered);
        free(run);
        run = next;
    }
    pthread_mutex_destroy(&driver->lock);
    free(driver);
}

static flywheel_status_t checkpoint_save(flywheel_driver_t *base, uint64_t run_id, flywheel_state_writer_t write, void *context) {
    scripted_driver_t *driver = (scripted_driver_t *)base;
    pthread_mutex_lock(&driver->lock);
    scripted_run_t *run = find_run(driver, run_id);
    long counter = run ? atomic_load(&run->counter) : -1;
    pthread_mutex_unlock(&driver->lock);
    if (counter < 0) return FLYWHEEL_ERR_NOT_FOUND;
    char state[32];
    int length = snprintf(state, sizeof state, "n=%ld", counter);
    write(context, (const uint8_t *)state, (size_t)length);
    return FLYWHEEL_OK;
}

static flywheel_status_t checkpoint_resume(flywheel_driver_t *base, const flywheel_run_host_t *run, const char *task,
                                           size_t length, const uint8_t *state, size_t state_length) {
    if (!task || length == 0) return FLYWHEEL_ERR_INVALID_ARGUMENT;
    char text[32] = {0};
    memcpy(text, state, state_length < sizeof text - 1 ? state_length : sizeof text - 1);
    long start = 0;
    if (sscanf(text, "n=%ld", &start) != 1 || start < 0) {
        g_host->set_error(g_host, "unreadable checkpoint", 21);
        return FLYWHEEL_ERR_INVALID_ARGUMENT;
    }
    return start_run((scripted_driver_t *)base, run, task, start);
}

static const flywheel_checkpoint_extension_t checkpoint_extension = {
    sizeof(flywheel_checkpoint_extension_t), 0, checkpoint_save, checkpoint_resume};

#ifdef FLYWHEEL_EXT_INSTANCE
/* ABI 1.2: an instance whose config says {"account_provider":"P"} needs a P account. */
static const char *instance_capabilities(const flywheel_driver_t *base) {
    const scripted_driver_t *driver = (const scripted_driver_t *)base;
    return driver->capabilities[0] ? driver->capabilities : NULL;
}

static const flywheel_instance_extension_t instance_extension = {sizeof(flywheel_instance_extension_t), 0, instance_capabilities};
#endif

static const void *scripted_get_extension(const flywheel_driver_t *driver, const char *id) {
    (void)driver;
#ifdef FLYWHEEL_EXT_INSTANCE
    if (strcmp(id, FLYWHEEL_EXT_INSTANCE) == 0) return &instance_extension;
#endif
    return strcmp(id, FLYWHEEL_EXT_CHECKPOINT) == 0 ? &checkpoint_extension : NULL;
}

static flywheel_status_t scripted_create(const flywheel_host_t *host, const char *config, size_t length, flywheel_driver_t **out) {
    (void)host;
    (void)length;
    scripted_driver_t *driver = calloc(1, sizeof *driver);
    if (!driver) return FLYWHEEL_ERR_OUT_OF_MEMORY;
    char provider[64];
    /* The host adds a NUL after every payload it passes. */
    find_string(config ? config : "", "account_provider", provider, sizeof provider);
    if (provider[0]) snprintf(driver->capabilities, sizeof driver->capabilities, "{\"account_provider\":\"%s\"}", provider);
    driver->base = (flywheel_driver_t){sizeof(flywheel_driver_t), 0, NULL, scripted_execute, scripted_cancel,
                                       scripted_destroy, scripted_get_extension};
    pthread_mutex_init(&driver->lock, NULL);
    *out = &driver->base;
    return FLYWHEEL_OK;
}

static flywheel_status_t scripted_init(const flywheel_host_t *host) {
    g_host = host;
    g_checkpoints = host->get_extension(host, FLYWHEEL_HOST_EXT_CHECKPOINT);
    return FLYWHEEL_OK;
}

static const flywheel_driver_descriptor_t descriptor = {
    sizeof(flywheel_driver_descriptor_t), 0, SCRIPTED_ID, "Scripted test driver", "1.0.0", "Flywheel tests",
    "Does what the task's prompt scripts.", SCRIPTED_CAPABILITIES};

static const flywheel_driver_descriptor_t *scripted_get_descriptor(void) { return &descriptor; }

static const flywheel_plugin_entry_t entry = {
    FLYWHEEL_ABI_VERSION_INIT, sizeof(flywheel_plugin_entry_t), scripted_init, NULL, scripted_get_descriptor,
    scripted_create};

FLYWHEEL_EXPORT const flywheel_plugin_entry_t *flywheel_plugin_entry(void) { return &entry; }
