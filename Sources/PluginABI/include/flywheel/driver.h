/*
 * flywheel/driver.h — the Flywheel Gateway agent-driver ABI, version 1.2.0.
 *
 * 1.2.0 (compatible addition; no struct layout changed): an instance may state capabilities of its
 * own through the driver extension "flywheel.instance/1", so the account a run needs can follow
 * the instance's configuration (an SDK driver configured for OpenAI needs an OpenAI account, one
 * for Anthropic an Anthropic account). It is an extension found by id, not a field appended to
 * flywheel_driver_t: a driver that does not need it changes nothing, a host that does not know it
 * never asks, and the struct the host reads from every driver keeps its frozen size. New event
 * type `account_unusable`: the account in use was refused for good (a bad key, no credit left).
 *
 * 1.1.0 (compatible addition; no struct layout changed): a command request may ask for a decision
 * only (`"execute": false` in flywheel.command-request/1), for drivers that run an allowed command
 * themselves, such as typing it into the agent's terminal. A 1.0 host does not know the member and
 * would run the command, so a driver sends it only to a host whose abi_version.minor is 1 or more.
 *
 * 1.0.1 (documentation only; no layout or behaviour a 1.0.0 driver relies on changed): which members of
 * flywheel.command-result/1 are optional and when; fractional timeout_seconds; what emit returns for
 * a refused event; that no command callback arrives once destroy has begun; the `resume` member of
 * flywheel.task/1; the default of `enabled` in plugins.d; how FLYWHEEL_LOG_* map to the host's log.
 *
 * This is the only header a third party needs to write an agent driver for the Flywheel Gateway.
 * A driver is a shared object (.so) that the gateway loads with dlopen(RTLD_NOW | RTLD_LOCAL). It may
 * be written in any language that can export a C function and call C function pointers: C, Swift,
 * Rust, Zig, ...
 *
 * ---------------------------------------------------------------------------------------------------
 * 1. Lifecycle
 * ---------------------------------------------------------------------------------------------------
 *   host: dlopen(path)                         (the plugins.d/<name>.toml file was read before this;
 *                                              `enabled` defaults to true there. The host checks the
 *                                              file first: a regular ELF shared object that defines
 *                                              this function in its dynamic symbol table. Your
 *                                              constructors run at dlopen: keep them side-effect free)
 *   host: entry = flywheel_plugin_entry()      the one exported symbol; returns a static constant
 *   host: checks entry->abi_version and entry->struct_size, and that required pointers are non-NULL
 *   host: entry->init(host)                    once; fast, no side effects (no threads, no I/O)
 *   host: entry->get_descriptor()              id, name, version, capabilities
 *   host: entry->create_driver(host, config)   zero or more instances, each with its own config
 *   host:   driver->execute(driver, run, task) zero or more runs per instance; returns at once
 *   plugin:   run->emit(run, event)            events, from any thread, ending in one terminal event
 *   plugin:   run->request_command(...)        the host runs a command for the agent (after policy)
 *   host:   driver->cancel(driver, run_id)     the run must end promptly with a terminal event
 *   host:   driver->destroy(driver)            "stop": ends the instance; no callbacks after it returns
 *   host: entry->deinit()                      once at host shutdown, only if init succeeded
 *
 * The host never calls dlclose on a driver: unloading code that may own threads or language runtime
 * metadata is not safe. "Reload" means loading a new file and retiring old instances.
 *
 * ---------------------------------------------------------------------------------------------------
 * 2. Versioning
 * ---------------------------------------------------------------------------------------------------
 * The entry starts with the ABI version the driver was compiled against (FLYWHEEL_ABI_VERSION_INIT).
 * The host refuses a different major version and a minor version newer than its own; it accepts an
 * older minor. Every other struct starts with `struct_size`, set by whoever fills the struct to
 * `sizeof` the struct as that side compiled it. Structs only ever grow by appending fields, so a
 * reader must check `struct_size` before touching a field added in a later minor version
 * (FLYWHEEL_HAS_FIELD below). Released layouts are frozen and pinned by the host's test suite, which
 * also builds a driver against the released 1.0.0 header and runs it in the current host.
 * Optional capabilities are found by string id through `get_extension`, never by changing a struct.
 *
 * ---------------------------------------------------------------------------------------------------
 * 3. Strings and payloads
 * ---------------------------------------------------------------------------------------------------
 * All text is UTF-8. Descriptor strings are NUL-terminated. Payloads passed to a function come as a
 * pointer and an explicit byte length; they are not required to be NUL-terminated (the host does add a
 * NUL after every payload it passes, as a convenience for C drivers, not counted in the length).
 * Payloads that will evolve (config, task, event, command request and result, capabilities) are JSON
 * documents whose schemas are described in section 7. Readers ignore members they do not know.
 *
 * ---------------------------------------------------------------------------------------------------
 * 4. Ownership
 * ---------------------------------------------------------------------------------------------------
 * - Memory passed into a call is valid only during that call; copy what you keep.
 * - What the driver returns (entry, descriptor, extension structs and their strings) must stay valid
 *   and unchanged until deinit returns. Static storage is the easy way.
 * - Structs the host hands over (flywheel_host_t, flywheel_run_host_t, host extensions) stay valid as
 *   documented on each of them; the driver never frees them.
 * - Nobody frees the other side's memory except through a function that side provides.
 *
 * ---------------------------------------------------------------------------------------------------
 * 5. Threading
 * ---------------------------------------------------------------------------------------------------
 * Every function below carries one of these tags:
 *   [entry-serialised]    the host never makes two such calls at once for the same plugin, on any thread.
 *   [instance-serialised] the host never makes two calls at once on the same driver instance; calls on
 *                         different instances may run concurrently on different threads. Such calls
 *                         must return promptly (no waiting for the network or a child process).
 *   [thread-safe]         (host callbacks) may be called from any thread, including threads the driver
 *                         created and from inside any call the host made into the driver.
 *   [host-thread]         (driver callbacks) the host calls it on a thread of its own, never from
 *                         inside the host function that registered it.
 *
 * ---------------------------------------------------------------------------------------------------
 * 6. Errors
 * ---------------------------------------------------------------------------------------------------
 * Fallible calls return a flywheel_status_t. Before returning anything but FLYWHEEL_OK, a driver should
 * call host->set_error(host, message, length) on the same thread with a human-readable reason; the host
 * attaches it to the failure it reports. The host never crashes because of a bad status, a NULL, an
 * unknown event type or invalid JSON from a driver: it reports the problem and carries on.
 */
#ifndef FLYWHEEL_DRIVER_H
#define FLYWHEEL_DRIVER_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------------------------------ */
/* Version                                                                                           */
/* ------------------------------------------------------------------------------------------------ */

#define FLYWHEEL_ABI_VERSION_MAJOR 1u
#define FLYWHEEL_ABI_VERSION_MINOR 2u
#define FLYWHEEL_ABI_VERSION_PATCH 0u

/** Initialiser for the `abi_version` field of flywheel_plugin_entry_t. */
#define FLYWHEEL_ABI_VERSION_INIT \
    { FLYWHEEL_ABI_VERSION_MAJOR, FLYWHEEL_ABI_VERSION_MINOR, FLYWHEEL_ABI_VERSION_PATCH }

/** The ABI version as three integers. Frozen layout: 12 bytes. */
typedef struct flywheel_abi_version {
    uint32_t major; /**< incompatible changes; the host refuses another major */
    uint32_t minor; /**< compatible additions; the host refuses a minor newer than its own */
    uint32_t patch; /**< documentation and clarifications only */
} flywheel_abi_version_t;

/** True when a struct filled by the other side is large enough to contain `field`. */
#define FLYWHEEL_HAS_FIELD(ptr, type, field) \
    ((ptr)->struct_size >= offsetof(type, field) + sizeof(((type *)0)->field))

/** Marks the entry function as exported even under -fvisibility=hidden. */
#if defined(__GNUC__) || defined(__clang__)
#define FLYWHEEL_EXPORT __attribute__((visibility("default")))
#else
#define FLYWHEEL_EXPORT
#endif

/* ------------------------------------------------------------------------------------------------ */
/* Status codes                                                                                      */
/* ------------------------------------------------------------------------------------------------ */

/** Result of a fallible call. A fixed-width integer so the ABI does not depend on enum sizes. */
typedef int32_t flywheel_status_t;

#define FLYWHEEL_OK                    0  /**< success */
#define FLYWHEEL_ERR_INVALID_ARGUMENT  1  /**< a NULL, a bad length, or a payload that is not the documented JSON */
#define FLYWHEEL_ERR_INVALID_CONFIG    2  /**< the driver configuration is not acceptable (create_driver) */
#define FLYWHEEL_ERR_UNSUPPORTED       3  /**< the operation is not supported by this driver or host */
#define FLYWHEEL_ERR_NOT_FOUND         4  /**< unknown run id */
#define FLYWHEEL_ERR_BUSY              5  /**< the instance cannot take another run now; try later */
#define FLYWHEEL_ERR_CLOSED            6  /**< the run has ended; the call had no effect */
#define FLYWHEEL_ERR_OUT_OF_MEMORY     7  /**< an allocation failed */
#define FLYWHEEL_ERR_INTERNAL          8  /**< anything else; say what through set_error */

/**
 * Log levels for flywheel_host_t.log. The host logs them at its own levels debug, info, warning and
 * error; any other value is logged as error.
 */
#define FLYWHEEL_LOG_DEBUG   0
#define FLYWHEEL_LOG_INFO    1
#define FLYWHEEL_LOG_WARNING 2
#define FLYWHEEL_LOG_ERROR   3

/* ------------------------------------------------------------------------------------------------ */
/* The host, as a driver sees it                                                                     */
/* ------------------------------------------------------------------------------------------------ */

/**
 * Services the host offers to the whole plugin. Passed to init and create_driver; valid from init
 * until deinit returns. The driver may keep the pointer. Frozen v1.0 layout: 64 bytes on LP64.
 */
typedef struct flywheel_host {
    uint32_t struct_size;               /**< sizeof(flywheel_host_t) as the host compiled it */
    flywheel_abi_version_t abi_version; /**< the host's ABI version */
    const char *host_name;              /**< "flywheel", NUL-terminated */
    const char *host_version;           /**< the gateway's version, NUL-terminated */
    void *host_data;                    /**< the host's own; never touch */

    /**
     * [thread-safe] Writes a line to the host's log, attributed to this plugin. `level` is one of
     * FLYWHEEL_LOG_*. The host copies `message` (`length` bytes, UTF-8). Never log secrets: account
     * credentials arrive in task payloads and must stay out of logs.
     */
    void (*log)(const struct flywheel_host *host, int32_t level, const char *message, size_t length);

    /**
     * [thread-safe] Sets the human-readable reason for the failure the calling thread is about to
     * return from a host->driver call. Call it just before returning a status other than FLYWHEEL_OK.
     * The host copies `message`. Calling it outside such a call is harmless; the message is dropped.
     */
    void (*set_error)(const struct flywheel_host *host, const char *message, size_t length);

    /**
     * [thread-safe] Returns the host extension with the given id (e.g. FLYWHEEL_HOST_EXT_CHECKPOINT),
     * or NULL when the host does not offer it. The returned struct is valid until deinit returns.
     */
    const void *(*get_extension)(const struct flywheel_host *host, const char *extension_id);
} flywheel_host_t;

/**
 * Called once by the host with the outcome of a command the driver asked for (request_command).
 * [host-thread] Called exactly once per accepted request, never from inside request_command. The host
 * calls it on its own thread for the instance, one call at a time with the host's other calls into
 * that instance (so never at the same time as execute, cancel or a checkpoint save). No callback
 * arrives once destroy has begun: requests still open when the instance is destroyed get their
 * FLYWHEEL_ERR_CLOSED callback before destroy is called.
 *
 * @param user_data    the pointer the driver passed to request_command
 * @param status       FLYWHEEL_OK when `result_json` describes the outcome (which may be a policy denial);
 *                     FLYWHEEL_ERR_CLOSED when the run ended before the command finished (result is NULL)
 * @param result_json  a flywheel.command-result/1 JSON document (section 7), valid during the call only
 * @param length       byte length of `result_json`
 */
typedef void (*flywheel_command_callback_t)(void *user_data, flywheel_status_t status,
                                            const char *result_json, size_t length);

/**
 * The host's side of one run. The host fills it and passes it to execute; it stays valid, at the same
 * address, until destroy returns for the instance that ran it. Frozen v1.0 layout: 40 bytes on LP64.
 */
typedef struct flywheel_run_host {
    uint32_t struct_size; /**< sizeof(flywheel_run_host_t) as the host compiled it */
    uint32_t reserved;    /**< zero */
    uint64_t run_id;      /**< the host's id for this run; pass it back to cancel */
    void *host_data;      /**< the host's own; never touch */

    /**
     * [thread-safe] Hands one event (a flywheel.event/1 JSON object, section 7) to the host. The host
     * copies it and returns without waiting for storage; events of one run keep the order in which
     * emit calls returned. Emit may pause briefly when the host is far behind (backpressure), but never
     * waits for the driver. Exactly one terminal event (`completed`, `failed` or `cancelled`) ends the
     * run: every emit after it returns FLYWHEEL_ERR_CLOSED at once and is dropped, and so do
     * request_command and the checkpoint offer. An event the host refuses returns
     * FLYWHEEL_ERR_INVALID_ARGUMENT and is not stored (the host records a `host.driver_error` event
     * saying why): a NULL event or a zero length, invalid UTF-8 or JSON, anything but an object, no
     * string "type", a "host." type, or a v1 type without its required members (section 7).
     */
    flywheel_status_t (*emit)(const struct flywheel_run_host *run, const char *event_json, size_t length);

    /**
     * [thread-safe] Asks the host to run a shell command for the agent. The host puts every request
     * through its command policy (the Destructive Command Guard) and records the decision; a denied
     * command never runs, and the result says why. An allowed one runs in the session's workspace
     * with a timeout and an output cap; its output is also recorded as events of the run. A request
     * with `"execute": false` (1.1) gets the decision only and runs nothing (section 7).
     *
     * The call returns at once. FLYWHEEL_OK means the request was accepted and `callback` will be
     * called exactly once with the result. Any other status means it was not accepted and `callback`
     * will never be called: FLYWHEEL_ERR_INVALID_ARGUMENT (not a flywheel.command-request/1 document),
     * FLYWHEEL_ERR_CLOSED (the run has ended), FLYWHEEL_ERR_UNSUPPORTED (this host runs no commands).
     */
    flywheel_status_t (*request_command)(const struct flywheel_run_host *run, const char *request_json,
                                         size_t length, flywheel_command_callback_t callback,
                                         void *user_data);
} flywheel_run_host_t;

/* ------------------------------------------------------------------------------------------------ */
/* The driver, as the host sees it                                                                   */
/* ------------------------------------------------------------------------------------------------ */

/**
 * Static facts about the driver, returned by get_descriptor. Every string is NUL-terminated UTF-8 and
 * valid until deinit returns. Frozen v1.0 layout: 56 bytes on LP64.
 */
typedef struct flywheel_driver_descriptor {
    uint32_t struct_size; /**< sizeof(flywheel_driver_descriptor_t) as the driver compiled it */
    uint32_t reserved;    /**< zero */
    /** Unique id: 1 to 64 of [a-z0-9._-], starting with a letter, e.g. "acme.claude-cli". Required. */
    const char *id;
    const char *name;        /**< human-readable name. Required. */
    const char *version;     /**< the driver's own version, semantic versioning ("1.4.2"). Required. */
    const char *vendor;      /**< who ships it; may be NULL */
    const char *description; /**< one sentence; may be NULL */
    /** A flywheel.capabilities/1 JSON object (section 7), or NULL for "{}". */
    const char *capabilities_json;
} flywheel_driver_descriptor_t;

/**
 * One driver instance, created by create_driver with one configuration. The driver fills it; the
 * host reads it until destroy returns. Frozen v1.0 layout: 48 bytes on LP64.
 */
typedef struct flywheel_driver {
    uint32_t struct_size; /**< sizeof(flywheel_driver_t) as the driver compiled it */
    uint32_t reserved;    /**< zero */
    void *driver_data;    /**< the driver's own; the host never touches it */

    /**
     * [instance-serialised] Starts a run of `task_json` (a flywheel.task/1 document) and returns at
     * once: the work happens on the driver's own threads (or its event loop), and its outcome arrives
     * through run->emit, ending with exactly one terminal event. `run` stays valid until destroy
     * returns. Returns FLYWHEEL_OK when the run started (a terminal event is then owed, even if the
     * run fails at once), FLYWHEEL_ERR_INVALID_ARGUMENT for a task it cannot parse, FLYWHEEL_ERR_BUSY
     * when it cannot take another run now. On a non-OK return no event may be emitted for the run.
     * Required.
     */
    flywheel_status_t (*execute)(struct flywheel_driver *driver, const flywheel_run_host_t *run,
                                 const char *task_json, size_t task_length);

    /**
     * [instance-serialised] Asks run `run_id` to stop. Returns at once; the run must then end
     * promptly with a terminal event (`cancelled`, or `completed`/`failed` if it ended first). The host
     * gives it a few seconds and then treats the run as cancelled, dropping later events.
     * Returns FLYWHEEL_ERR_NOT_FOUND for a run that is unknown or already ended. Required.
     */
    flywheel_status_t (*cancel)(struct flywheel_driver *driver, uint64_t run_id);

    /**
     * [instance-serialised] Ends the instance ("stop"): cancels what still runs, joins the driver's
     * threads, frees the instance. The host calls it once, after every run of the instance has ended
     * or been given up; after it returns the driver must not call any flywheel_run_host_t of the
     * instance again. Required.
     */
    void (*destroy)(struct flywheel_driver *driver);

    /**
     * [instance-serialised] Returns the driver extension with the given id (e.g.
     * FLYWHEEL_EXT_CHECKPOINT) or NULL. The struct must stay valid until deinit. May be NULL itself
     * when the driver has no extensions.
     */
    const void *(*get_extension)(const struct flywheel_driver *driver, const char *extension_id);
} flywheel_driver_t;

/**
 * The plugin's entry: what flywheel_plugin_entry() returns. Frozen v1.0 layout: 48 bytes on LP64.
 */
typedef struct flywheel_plugin_entry {
    /** Must be first: the ABI version the driver was compiled against (FLYWHEEL_ABI_VERSION_INIT). */
    flywheel_abi_version_t abi_version;
    uint32_t struct_size; /**< sizeof(flywheel_plugin_entry_t) as the driver compiled it */

    /**
     * [entry-serialised] Called once, first. Must be fast and free of side effects: no threads, no
     * files, no network (start those in create_driver or execute). `host` stays valid until deinit.
     * On a non-OK status the plugin is rejected and deinit is never called. Required.
     */
    flywheel_status_t (*init)(const flywheel_host_t *host);

    /** [entry-serialised] Called once at shutdown, after every instance was destroyed. May be NULL. */
    void (*deinit)(void);

    /** [entry-serialised] Returns the descriptor, valid until deinit. Never NULL. Required. */
    const flywheel_driver_descriptor_t *(*get_descriptor)(void);

    /**
     * [entry-serialised] Creates an instance configured by `config_json` (a JSON object: the
     * `[config]` table of the plugin's plugins.d file, or an agent's config; "{}" when there is none).
     * On FLYWHEEL_OK stores the instance in *out_driver; the instance belongs to the driver and is
     * released through its destroy. Returns FLYWHEEL_ERR_INVALID_CONFIG, with a reason through
     * set_error, for a configuration it cannot accept. Required.
     */
    flywheel_status_t (*create_driver)(const flywheel_host_t *host, const char *config_json,
                                       size_t config_length, flywheel_driver_t **out_driver);
} flywheel_plugin_entry_t;

/** The name of the one symbol a plugin exports. */
#define FLYWHEEL_PLUGIN_ENTRY_SYMBOL "flywheel_plugin_entry"

/**
 * The one exported symbol. It must do nothing but return the address of a constant entry (static
 * storage), the same address every time. The host calls it once, right after dlopen.
 * A C driver writes:
 *
 *     static const flywheel_plugin_entry_t entry = { FLYWHEEL_ABI_VERSION_INIT,
 *         sizeof(flywheel_plugin_entry_t), my_init, my_deinit, my_get_descriptor, my_create };
 *     FLYWHEEL_EXPORT const flywheel_plugin_entry_t *flywheel_plugin_entry(void) { return &entry; }
 */
typedef const flywheel_plugin_entry_t *(*flywheel_plugin_entry_fn)(void);

/* ------------------------------------------------------------------------------------------------ */
/* Extensions                                                                                        */
/* ------------------------------------------------------------------------------------------------ */

/**
 * Driver extension "flywheel.checkpoint/1": the driver can save a run's state and resume from it, so
 * the host can pause a session and recover it after a restart. Returned by driver->get_extension.
 * Frozen v1.0 layout: 24 bytes on LP64.
 */
#define FLYWHEEL_EXT_CHECKPOINT "flywheel.checkpoint/1"

/** Receives checkpoint bytes; the host copies them during the call. */
typedef void (*flywheel_state_writer_t)(void *context, const uint8_t *state, size_t length);

typedef struct flywheel_checkpoint_extension {
    uint32_t struct_size; /**< sizeof(flywheel_checkpoint_extension_t) as the driver compiled it */
    uint32_t reserved;    /**< zero */

    /**
     * [instance-serialised] Captures a consistent snapshot of run `run_id` now and hands it over by
     * calling `write(context, state, length)` once before returning. The bytes are opaque to the host
     * and may be binary. Returns FLYWHEEL_ERR_NOT_FOUND for an unknown or ended run.
     */
    flywheel_status_t (*save)(struct flywheel_driver *driver, uint64_t run_id,
                              flywheel_state_writer_t write, void *context);

    /**
     * [instance-serialised] Like execute, but continues from `state` (bytes an earlier save or
     * offer produced, possibly in another process). Same return contract as execute.
     */
    flywheel_status_t (*resume)(struct flywheel_driver *driver, const flywheel_run_host_t *run,
                                const char *task_json, size_t task_length,
                                const uint8_t *state, size_t state_length);
} flywheel_checkpoint_extension_t;

/**
 * Host extension "flywheel.host.checkpoint/1": lets a driver offer a checkpoint on its own, whenever
 * it reaches a consistent state (after a tool call, say). Returned by host->get_extension.
 * Frozen v1.0 layout: 16 bytes on LP64.
 */
#define FLYWHEEL_HOST_EXT_CHECKPOINT "flywheel.host.checkpoint/1"

typedef struct flywheel_host_checkpoint_extension {
    uint32_t struct_size; /**< sizeof(flywheel_host_checkpoint_extension_t) as the host compiled it */
    uint32_t reserved;    /**< zero */

    /**
     * [thread-safe] Offers `state` as the run's latest checkpoint; it is ordered after every event the
     * driver emitted for the run before this call. The host copies the bytes. Returns
     * FLYWHEEL_ERR_CLOSED once the run has ended.
     */
    flywheel_status_t (*offer)(const flywheel_run_host_t *run, const uint8_t *state, size_t length);
} flywheel_host_checkpoint_extension_t;

/**
 * Driver extension "flywheel.instance/1" (1.2): capabilities of one instance, as its configuration
 * makes them. Returned by driver->get_extension; the host asks once, right after create_driver, and
 * a 1.1 host never asks. Frozen v1.2 layout: 16 bytes on LP64.
 */
#define FLYWHEEL_EXT_INSTANCE "flywheel.instance/1"

typedef struct flywheel_instance_extension {
    uint32_t struct_size; /**< sizeof(flywheel_instance_extension_t) as the driver compiled it */
    uint32_t reserved;    /**< zero */

    /**
     * [instance-serialised] A flywheel.capabilities/1 JSON object (section 7) for this instance, or
     * NULL for "{}". A 1.2 host reads `account_provider` from it: a string replaces the descriptor's
     * for this instance's runs, null means they need no account, and leaving it out keeps the
     * descriptor's. Other members are not read under 1.2. The string stays valid and unchanged until
     * destroy returns.
     */
    const char *(*capabilities_json)(const struct flywheel_driver *driver);
} flywheel_instance_extension_t;

/* ------------------------------------------------------------------------------------------------ */
/* 7. JSON payloads                                                                                  */
/* ------------------------------------------------------------------------------------------------ */
/*
 * flywheel.capabilities/1 (descriptor->capabilities_json), all members optional:
 *   { "account_provider": "anthropic",   provider whose BYOA account a run needs; absent/null: none
 *     "max_concurrent_runs": 1,          runs one instance can take at once; absent: unlimited
 *     "config_schema": { ... } }         a JSON Schema of the config object, for tools and docs
 *
 * Config (create_driver): any JSON object; its meaning is the driver's. Document it.
 *
 * flywheel.task/1 (execute, resume):
 *   { "schema": "flywheel.task/1",
 *     "session_id": "…",                 the host's session id (string)
 *     "prompt": "…",                     what the agent is asked to do
 *     "workspace": "/abs/dir",           where the agent's commands run (the host creates it)
 *     "account": { "provider": "…", "label": "…", "credentials": { … } }
 *                                        present only when the driver declared account_provider;
 *                                        credentials are secret: never log or echo them
 *     "resume": { "checkpoint_seq": 120, "events_after_checkpoint": 37 }
 *                                        present only in resume: the session's event seq at which the
 *                                        checkpoint was taken, and how many events of the driver's own
 *                                        were stored after it. Resume is at-least-once: a driver that
 *                                        replays work from its checkpoint should skip emitting the
 *                                        first `events_after_checkpoint` events again
 *   }
 *
 * flywheel.event/1 (emit): a JSON object with a string "type". Types defined by v1:
 *   status       { "message": "…" }                                   progress for humans
 *   message      { "role": "assistant"|"user"|"system", "text": "…" } conversation text
 *   thinking     { "text": "…" }
 *   tool_call    { "id": "…", "name": "…", "input": { … } }
 *   tool_result  { "id": "…", "output": "…", "is_error": false }
 *   usage        { "input_tokens": 0, "output_tokens": 0 }
 *   rate_limited { "provider": "…", "retry_after_seconds": 30, "reset_at": "RFC 3339 time" }
 *                the account in use hit a provider rate limit (HTTP 429); one of the two times
 *                should be present. The host cools the account down and fails over.
 *   account_unusable { "provider": "…", "status": "invalid"|"disabled", "reason": "…" }   (1.2)
 *                the account in use cannot serve any run: "invalid" for a key the provider
 *                refused (HTTP 401), "disabled" for one out of credit or over a spend limit. The
 *                host takes the account out of rotation with the reason, for an operator to see,
 *                and fails over. Never put credentials in the reason.
 *   completed    { "summary": "…" }                                   terminal: the task is done
 *   failed       { "error": "…", "retryable": false }                 terminal: the run failed
 *   cancelled    { }                                                  terminal: after cancel
 * Types starting with "x-" are the driver's own. Types starting with "host." are reserved for events
 * the host writes itself (command decisions and output, session state) and are refused from drivers.
 * The host stores other unknown types as they are, so a driver built for a newer minor still works.
 *
 * flywheel.command-request/1 (request_command):
 *   { "command": "git status",           required; a shell command line, run by /bin/sh -c
 *     "cwd": "sub/dir",                  optional; relative to the workspace, never outside it
 *     "timeout_seconds": 60,             optional; a number (may be fractional, e.g. 0.5) above 0 and at
 *                                        most 86400; capped by the host's limit. true or "60" is refused
 *     "env": { "NAME": "value" },        optional; added to the host's clean environment
 *     "execute": false }                 optional (1.1); false asks for the decision only: the host
 *                                        judges and records the command exactly as it would before
 *                                        running it (a held command still waits for an operator),
 *                                        then runs nothing and answers with `delegated`. The driver
 *                                        then runs an allowed command itself, and nothing else.
 *                                        Send it only to a host of minor 1 or later: a 1.0 host
 *                                        ignores the member and runs the command.
 *
 * flywheel.command-result/1 (flywheel_command_callback_t):
 *   { "request_id": "…",                 the host's id of the request (as in the event log)
 *     "decision": "allow"|"warn"|"log"|"deny",   always present
 *     "rule_id": "core.git:reset-hard",  present when a policy rule matched
 *     "reason": "…",                     why it was denied, flagged or not run: present when a rule
 *                                        matched, and also without rule_id when the host refused the
 *                                        command itself (a cwd outside the workspace, an operator's
 *                                        denial, an approval that expired, a start that failed)
 *     "ran": true,                       always present; false when the command did not run
 *     "exit_code": 0,                    present when ran is true: the exit status, or null when a
 *                                        signal (a timeout's kill) ended it
 *     "timed_out": false,                present when ran is true
 *     "stdout": "…", "stderr": "…",      present when ran is true: captured output (UTF-8, invalid
 *                                        bytes replaced), capped
 *     "truncated": false,                present when ran is true: output went past the cap
 *     "delegated": true }                (1.1) present for a decision-only request: true when the
 *                                        command may run (decision allow, warn or log, or an
 *                                        operator approved it), false when it must not
 * When ran is false only request_id, decision, ran and (usually) rule_id and reason are present, and
 * `delegated` for a decision-only request. A decision-only request never has ran true.
 */

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* FLYWHEEL_DRIVER_H */
