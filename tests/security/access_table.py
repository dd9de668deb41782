"""Who reaches what: the expected answer of every admin URL, admin action and API route to every
kind of user. Data only: the tests beside it walk the real URLs and compare, and fail on a URL,
an action or an API method this table doesn't list.

A row holds one answer per kind, in the order of ADMIN_KINDS (or API_KINDS): a status code, or
LOGIN for a redirect to the admin login. Admin requests are sent with a valid CSRF token and an
empty body, so an allowed form answers 200 (its errors) and an allowed button 302 (back, with a
message)."""

from ops_admin.roles import AUDITOR, OPS, SUPPORT

ANONYMOUS = "anonymous"
USER = "user"  # active, not staff
API_ADMIN = "api_admin"  # not staff, user_type admin: manages users through the API
STAFF = "staff"  # staff, in no group
SUPERUSER = "superuser"

ADMIN_KINDS = (ANONYMOUS, USER, STAFF, AUDITOR, SUPPORT, OPS, SUPERUSER)
API_KINDS = (ANONYMOUS, USER, API_ADMIN, STAFF, AUDITOR, SUPPORT, OPS, SUPERUSER)

LOGIN = "login"

# -- admin rows: (anonymous, user, staff, Auditor, Support, Ops, superuser) ---------------------------
ANY_STAFF = (LOGIN, LOGIN, 200, 200, 200, 200, 200)
VIEWERS = (LOGIN, LOGIN, 403, 200, 200, 200, 200)
SUPERUSERS = (LOGIN, LOGIN, 403, 403, 403, 403, 200)
SUPERUSERS_DONE = (LOGIN, LOGIN, 403, 403, 403, 403, 302)
SUPPORT_UP_DONE = (LOGIN, LOGIN, 403, 403, 302, 302, 302)
OPS_UP_DONE = (LOGIN, LOGIN, 403, 403, 403, 302, 302)
NOBODY = (LOGIN, LOGIN, 403, 403, 403, 403, 403)
POST_ONLY = (LOGIN, LOGIN, 405, 405, 405, 405, 405)
GET_ONLY = POST_ONLY
TO_CHANGE_PAGE = (LOGIN, LOGIN, 302, 302, 302, 302, 302)  # the old object URL redirects, the change page decides
NOT_FOUND = (LOGIN, LOGIN, 404, 404, 404, 404, 404)
VIEWERS_APP = (LOGIN, LOGIN, 404, 200, 200, 200, 200)  # an app index is 404 to whoever sees none of its models
SUPERUSERS_APP = (LOGIN, LOGIN, 404, 404, 404, 404, 200)

# {url template: {method: row}}; "{app_label.model_name}" is the key of the test's object of that model
ADMIN_PAGES = {
    # the site
    "/admin/": {"GET": ANY_STAFF, "POST": ANY_STAFF},
    "/admin/login/": {
        "GET": (200, 200, 302, 302, 302, 302, 302),  # staff already in: on to the index
        "POST": (200, 200, 200, 200, 200, 200, 200),  # no credentials: the form again
    },
    "/admin/logout/": {
        "GET": (302, 302, 405, 405, 405, 405, 405),
        "POST": (302, 302, 200, 200, 200, 200, 200),
    },
    "/admin/password_change/": {"GET": ANY_STAFF, "POST": ANY_STAFF},
    "/admin/password_change/done/": {"GET": ANY_STAFF, "POST": GET_ONLY},
    # answers whoever may view the users (the usernames it returns)
    "/admin/autocomplete/?app_label=users&model_name=user&field_name=class_teacher&term=a": {
        "GET": VIEWERS,
        "POST": GET_ONLY,
    },
    "/admin/jsi18n/": {"GET": ANY_STAFF, "POST": GET_ONLY},
    # no model has get_absolute_url
    "/admin/r/{contenttypes.contenttype}/{users.user}/": {"GET": NOT_FOUND, "POST": NOT_FOUND},
    "/admin/no-such-page/": {"GET": NOT_FOUND, "POST": NOT_FOUND},
    "/admin/users/": {"GET": VIEWERS_APP, "POST": VIEWERS_APP},
    "/admin/pubsub/": {"GET": VIEWERS_APP, "POST": VIEWERS_APP},
    "/admin/auditlog/": {"GET": VIEWERS_APP, "POST": VIEWERS_APP},
    "/admin/background_task/": {"GET": VIEWERS_APP, "POST": VIEWERS_APP},
    "/admin/token_blacklist/": {"GET": VIEWERS_APP, "POST": VIEWERS_APP},
    "/admin/auth/": {"GET": SUPERUSERS_APP, "POST": SUPERUSERS_APP},
    "/admin/axes/": {"GET": VIEWERS_APP, "POST": VIEWERS_APP},
    # the dashboard's worker buttons
    "/admin/ops/publish-due-now/": {"GET": POST_ONLY, "POST": SUPPORT_UP_DONE},
    "/admin/ops/drain-deadletters-now/": {"GET": POST_ONLY, "POST": OPS_UP_DONE},
    "/admin/ops/run-scheduled-tasks-now/": {"GET": POST_ONLY, "POST": OPS_UP_DONE},
    "/admin/ops/flush-tokens-now/": {"GET": POST_ONLY, "POST": OPS_UP_DONE},
    "/admin/ops/purge-api-hits-now/": {"GET": POST_ONLY, "POST": OPS_UP_DONE},
    # an empty body names no queue: 400 for whoever may resync
    "/admin/ops/publish-sync-digests-now/": {"GET": POST_ONLY, "POST": OPS_UP_DONE},
    "/admin/ops/resync-all-users/": {"GET": POST_ONLY, "POST": (LOGIN, LOGIN, 403, 403, 403, 400, 400)},
    # users: superusers change them; everyone else reads
    "/admin/users/user/": {"GET": VIEWERS, "POST": VIEWERS},
    "/admin/users/user/add/": {"GET": SUPERUSERS, "POST": SUPERUSERS},
    "/admin/users/user/{users.user}/": {"GET": TO_CHANGE_PAGE, "POST": TO_CHANGE_PAGE},
    "/admin/users/user/{users.user}/change/": {"GET": VIEWERS, "POST": SUPERUSERS},
    "/admin/users/user/{users.user}/delete/": {"GET": SUPERUSERS, "POST": SUPERUSERS_DONE},
    "/admin/users/user/{users.user}/history/": {"GET": VIEWERS, "POST": VIEWERS},
    "/admin/users/user/{users.user}/auditlog/": {"GET": VIEWERS, "POST": VIEWERS},
    "/admin/users/user/{users.user}/password/": {"GET": SUPERUSERS, "POST": SUPERUSERS},
    "/admin/users/user/import/": {"GET": SUPERUSERS, "POST": SUPERUSERS},
    "/admin/users/user/process_import/": {"GET": POST_ONLY, "POST": SUPERUSERS},
    "/admin/users/userimportjob/": {"GET": VIEWERS, "POST": VIEWERS},
    "/admin/users/userimportjob/add/": {"GET": NOBODY, "POST": NOBODY},
    "/admin/users/userimportjob/{users.userimportjob}/": {"GET": TO_CHANGE_PAGE, "POST": TO_CHANGE_PAGE},
    "/admin/users/userimportjob/{users.userimportjob}/change/": {"GET": VIEWERS, "POST": NOBODY},
    "/admin/users/userimportjob/{users.userimportjob}/delete/": {"GET": NOBODY, "POST": NOBODY},
    "/admin/users/userimportjob/{users.userimportjob}/history/": {"GET": VIEWERS, "POST": VIEWERS},
    "/admin/users/userresyncjob/": {"GET": VIEWERS, "POST": VIEWERS},
    "/admin/users/userresyncjob/add/": {"GET": NOBODY, "POST": NOBODY},
    "/admin/users/userresyncjob/{users.userresyncjob}/": {"GET": TO_CHANGE_PAGE, "POST": TO_CHANGE_PAGE},
    "/admin/users/userresyncjob/{users.userresyncjob}/change/": {"GET": VIEWERS, "POST": NOBODY},
    "/admin/users/userresyncjob/{users.userresyncjob}/delete/": {"GET": NOBODY, "POST": NOBODY},
    "/admin/users/userresyncjob/{users.userresyncjob}/history/": {"GET": VIEWERS, "POST": VIEWERS},
    "/admin/users/syncdrift/": {"GET": VIEWERS, "POST": VIEWERS},
    "/admin/users/syncdrift/add/": {"GET": NOBODY, "POST": NOBODY},
    "/admin/users/syncdrift/{users.syncdrift}/": {"GET": TO_CHANGE_PAGE, "POST": TO_CHANGE_PAGE},
    "/admin/users/syncdrift/{users.syncdrift}/change/": {"GET": VIEWERS, "POST": NOBODY},
    "/admin/users/syncdrift/{users.syncdrift}/delete/": {"GET": NOBODY, "POST": NOBODY},
    "/admin/users/syncdrift/{users.syncdrift}/history/": {"GET": VIEWERS, "POST": VIEWERS},
    "/admin/users/conflictingusersynclog/": {"GET": VIEWERS, "POST": VIEWERS},
    "/admin/users/conflictingusersynclog/add/": {"GET": NOBODY, "POST": NOBODY},
    "/admin/users/conflictingusersynclog/{users.conflictingusersynclog}/": {
        "GET": TO_CHANGE_PAGE,
        "POST": TO_CHANGE_PAGE,
    },
    "/admin/users/conflictingusersynclog/{users.conflictingusersynclog}/change/": {"GET": VIEWERS, "POST": NOBODY},
    "/admin/users/conflictingusersynclog/{users.conflictingusersynclog}/delete/": {"GET": NOBODY, "POST": NOBODY},
    "/admin/users/conflictingusersynclog/{users.conflictingusersynclog}/history/": {"GET": VIEWERS, "POST": VIEWERS},
    "/admin/users/userapihitlog/": {"GET": VIEWERS, "POST": VIEWERS},
    "/admin/users/userapihitlog/export/": {"GET": VIEWERS, "POST": VIEWERS},
    "/admin/users/userapihitlog/add/": {"GET": NOBODY, "POST": NOBODY},
    "/admin/users/userapihitlog/{users.userapihitlog}/": {"GET": TO_CHANGE_PAGE, "POST": TO_CHANGE_PAGE},
    "/admin/users/userapihitlog/{users.userapihitlog}/change/": {"GET": VIEWERS, "POST": NOBODY},
    "/admin/users/userapihitlog/{users.userapihitlog}/delete/": {"GET": NOBODY, "POST": NOBODY},
    "/admin/users/userapihitlog/{users.userapihitlog}/history/": {"GET": VIEWERS, "POST": VIEWERS},
    # the outbox: read by all roles, changed only by its actions and the publish button
    "/admin/pubsub/queuepublishhistory/": {"GET": VIEWERS, "POST": VIEWERS},
    # staff in no role could export every payload: import-export allows any staff unless told otherwise
    "/admin/pubsub/queuepublishhistory/export/": {"GET": VIEWERS, "POST": VIEWERS},
    "/admin/pubsub/queuepublishhistory/publish-now/": {"GET": POST_ONLY, "POST": SUPPORT_UP_DONE},
    "/admin/pubsub/queuepublishhistory/add/": {"GET": NOBODY, "POST": NOBODY},
    "/admin/pubsub/queuepublishhistory/{pubsub.queuepublishhistory}/": {
        "GET": TO_CHANGE_PAGE,
        "POST": TO_CHANGE_PAGE,
    },
    "/admin/pubsub/queuepublishhistory/{pubsub.queuepublishhistory}/change/": {"GET": VIEWERS, "POST": NOBODY},
    "/admin/pubsub/queuepublishhistory/{pubsub.queuepublishhistory}/delete/": {"GET": NOBODY, "POST": NOBODY},
    "/admin/pubsub/queuepublishhistory/{pubsub.queuepublishhistory}/history/": {"GET": VIEWERS, "POST": VIEWERS},
    "/admin/pubsub/queuepublishhistory/{pubsub.queuepublishhistory}/auditlog/": {"GET": VIEWERS, "POST": VIEWERS},
    "/admin/pubsub/workerheartbeat/": {"GET": VIEWERS, "POST": VIEWERS},
    "/admin/pubsub/workerheartbeat/add/": {"GET": NOBODY, "POST": NOBODY},
    "/admin/pubsub/workerheartbeat/{pubsub.workerheartbeat}/": {"GET": TO_CHANGE_PAGE, "POST": TO_CHANGE_PAGE},
    "/admin/pubsub/workerheartbeat/{pubsub.workerheartbeat}/change/": {"GET": VIEWERS, "POST": NOBODY},
    "/admin/pubsub/workerheartbeat/{pubsub.workerheartbeat}/delete/": {"GET": SUPERUSERS, "POST": SUPERUSERS_DONE},
    "/admin/pubsub/workerheartbeat/{pubsub.workerheartbeat}/history/": {"GET": VIEWERS, "POST": VIEWERS},
    # third-party models, read-only
    "/admin/auditlog/logentry/": {"GET": VIEWERS, "POST": VIEWERS},
    "/admin/auditlog/logentry/add/": {"GET": NOBODY, "POST": NOBODY},
    "/admin/auditlog/logentry/{auditlog.logentry}/": {"GET": TO_CHANGE_PAGE, "POST": TO_CHANGE_PAGE},
    "/admin/auditlog/logentry/{auditlog.logentry}/change/": {"GET": VIEWERS, "POST": NOBODY},
    "/admin/auditlog/logentry/{auditlog.logentry}/delete/": {"GET": NOBODY, "POST": NOBODY},
    "/admin/auditlog/logentry/{auditlog.logentry}/history/": {"GET": VIEWERS, "POST": VIEWERS},
    "/admin/background_task/task/": {"GET": VIEWERS, "POST": VIEWERS},
    "/admin/background_task/task/add/": {"GET": NOBODY, "POST": NOBODY},
    "/admin/background_task/task/{background_task.task}/": {"GET": TO_CHANGE_PAGE, "POST": TO_CHANGE_PAGE},
    "/admin/background_task/task/{background_task.task}/change/": {"GET": VIEWERS, "POST": NOBODY},
    "/admin/background_task/task/{background_task.task}/delete/": {"GET": NOBODY, "POST": NOBODY},
    "/admin/background_task/task/{background_task.task}/history/": {"GET": VIEWERS, "POST": VIEWERS},
    "/admin/background_task/completedtask/": {"GET": VIEWERS, "POST": VIEWERS},
    "/admin/background_task/completedtask/add/": {"GET": NOBODY, "POST": NOBODY},
    "/admin/background_task/completedtask/{background_task.completedtask}/": {
        "GET": TO_CHANGE_PAGE,
        "POST": TO_CHANGE_PAGE,
    },
    "/admin/background_task/completedtask/{background_task.completedtask}/change/": {"GET": VIEWERS, "POST": NOBODY},
    "/admin/background_task/completedtask/{background_task.completedtask}/delete/": {"GET": NOBODY, "POST": NOBODY},
    "/admin/background_task/completedtask/{background_task.completedtask}/history/": {
        "GET": VIEWERS,
        "POST": VIEWERS,
    },
    "/admin/token_blacklist/outstandingtoken/": {"GET": VIEWERS, "POST": VIEWERS},
    "/admin/token_blacklist/outstandingtoken/flush-expired/": {"GET": POST_ONLY, "POST": OPS_UP_DONE},
    "/admin/token_blacklist/outstandingtoken/add/": {"GET": NOBODY, "POST": NOBODY},
    "/admin/token_blacklist/outstandingtoken/{token_blacklist.outstandingtoken}/": {
        "GET": TO_CHANGE_PAGE,
        "POST": TO_CHANGE_PAGE,
    },
    "/admin/token_blacklist/outstandingtoken/{token_blacklist.outstandingtoken}/change/": {
        "GET": VIEWERS,
        "POST": NOBODY,
    },
    "/admin/token_blacklist/outstandingtoken/{token_blacklist.outstandingtoken}/delete/": {
        "GET": NOBODY,
        "POST": NOBODY,
    },
    "/admin/token_blacklist/outstandingtoken/{token_blacklist.outstandingtoken}/history/": {
        "GET": VIEWERS,
        "POST": VIEWERS,
    },
    "/admin/token_blacklist/blacklistedtoken/": {"GET": VIEWERS, "POST": VIEWERS},
    "/admin/token_blacklist/blacklistedtoken/add/": {"GET": NOBODY, "POST": NOBODY},
    "/admin/token_blacklist/blacklistedtoken/{token_blacklist.blacklistedtoken}/": {
        "GET": TO_CHANGE_PAGE,
        "POST": TO_CHANGE_PAGE,
    },
    "/admin/token_blacklist/blacklistedtoken/{token_blacklist.blacklistedtoken}/change/": {
        "GET": VIEWERS,
        "POST": NOBODY,
    },
    "/admin/token_blacklist/blacklistedtoken/{token_blacklist.blacklistedtoken}/delete/": {
        "GET": NOBODY,
        "POST": NOBODY,
    },
    "/admin/token_blacklist/blacklistedtoken/{token_blacklist.blacklistedtoken}/history/": {
        "GET": VIEWERS,
        "POST": VIEWERS,
    },
    # groups carry privileges: superusers only
    "/admin/auth/group/": {"GET": SUPERUSERS, "POST": SUPERUSERS},
    "/admin/auth/group/add/": {"GET": SUPERUSERS, "POST": SUPERUSERS},
    "/admin/auth/group/{auth.group}/": {"GET": TO_CHANGE_PAGE, "POST": TO_CHANGE_PAGE},
    "/admin/auth/group/{auth.group}/change/": {"GET": SUPERUSERS, "POST": SUPERUSERS},
    "/admin/auth/group/{auth.group}/delete/": {"GET": SUPERUSERS, "POST": SUPERUSERS_DONE},
    "/admin/auth/group/{auth.group}/history/": {"GET": SUPERUSERS, "POST": SUPERUSERS},
    # login lockouts (django-axes): read by every role; Ops unlock through the action
    "/admin/axes/accessattempt/": {"GET": VIEWERS, "POST": VIEWERS},
    "/admin/axes/accessattempt/add/": {"GET": NOBODY, "POST": NOBODY},
    "/admin/axes/accessattempt/{axes.accessattempt}/": {"GET": TO_CHANGE_PAGE, "POST": TO_CHANGE_PAGE},
    "/admin/axes/accessattempt/{axes.accessattempt}/change/": {"GET": VIEWERS, "POST": NOBODY},
    "/admin/axes/accessattempt/{axes.accessattempt}/delete/": {"GET": NOBODY, "POST": NOBODY},
    "/admin/axes/accessattempt/{axes.accessattempt}/history/": {"GET": VIEWERS, "POST": VIEWERS},
    "/admin/axes/accesslog/": {"GET": VIEWERS, "POST": VIEWERS},
    "/admin/axes/accesslog/add/": {"GET": NOBODY, "POST": NOBODY},
    "/admin/axes/accesslog/{axes.accesslog}/": {"GET": TO_CHANGE_PAGE, "POST": TO_CHANGE_PAGE},
    "/admin/axes/accesslog/{axes.accesslog}/change/": {"GET": VIEWERS, "POST": NOBODY},
    "/admin/axes/accesslog/{axes.accesslog}/delete/": {"GET": NOBODY, "POST": NOBODY},
    "/admin/axes/accesslog/{axes.accesslog}/history/": {"GET": VIEWERS, "POST": VIEWERS},
    "/admin/axes/accessfailurelog/": {"GET": VIEWERS, "POST": VIEWERS},
    "/admin/axes/accessfailurelog/add/": {"GET": NOBODY, "POST": NOBODY},
    "/admin/axes/accessfailurelog/{axes.accessfailurelog}/": {"GET": TO_CHANGE_PAGE, "POST": TO_CHANGE_PAGE},
    "/admin/axes/accessfailurelog/{axes.accessfailurelog}/change/": {"GET": VIEWERS, "POST": NOBODY},
    "/admin/axes/accessfailurelog/{axes.accessfailurelog}/delete/": {"GET": NOBODY, "POST": NOBODY},
    "/admin/axes/accessfailurelog/{axes.accessfailurelog}/history/": {"GET": VIEWERS, "POST": VIEWERS},
}

# {(model label, action name): the kinds that may run it}; everyone else is refused and nothing changes
SUPPORT_UP = {SUPPORT, OPS, SUPERUSER}
OPS_UP = {OPS, SUPERUSER}
ADMIN_ACTIONS = {
    ("pubsub.queuepublishhistory", "retry_messages"): SUPPORT_UP,
    ("pubsub.queuepublishhistory", "expire_messages"): SUPPORT_UP,
    ("users.conflictingusersynclog", "apply_again"): SUPPORT_UP,
    ("users.conflictingusersynclog", "mark_resolved"): SUPPORT_UP,
    ("users.user", "revoke_tokens"): OPS_UP,
    ("users.user", "resync_selected"): OPS_UP,
    ("users.userresyncjob", "cancel_jobs"): OPS_UP,
    ("users.syncdrift", "request_resync"): SUPPORT_UP,
    ("users.userresyncjob", "resume_jobs"): OPS_UP,
    ("token_blacklist.outstandingtoken", "blacklist_selected"): OPS_UP,
    ("background_task.task", "run_now"): OPS_UP,
    ("axes.accessattempt", "unlock_selected"): OPS_UP,
    ("users.user", "delete_selected"): {SUPERUSER},
    ("pubsub.workerheartbeat", "delete_selected"): {SUPERUSER},
    ("auth.group", "delete_selected"): {SUPERUSER},
}

# -- API rows: (anonymous, user, api_admin, staff, Auditor, Support, Ops, superuser) -----------------
OPEN = (200, 200, 200, 200, 200, 200, 200, 200)
INVALID = (400, 400, 400, 400, 400, 400, 400, 400)  # open to all; the empty body is refused
SIGNED_IN = (401, 200, 200, 200, 200, 200, 200, 200)
SIGNED_IN_INVALID = (401, 400, 400, 400, 400, 400, 400, 400)
# IsUserManager: API administrators (user_type admin) and superusers in full; other staff by their
# users model permissions, as in the admin: every role views users, none changes them
VIEWERS = (401, 403, 200, 403, 200, 200, 200, 200)
MANAGERS = (401, 403, 200, 403, 403, 403, 403, 200)
MANAGERS_CREATED = (401, 403, 201, 403, 403, 403, 403, 201)
MANAGERS_DELETED = (401, 403, 204, 403, 403, 403, 403, 204)

# {(url template, method): row}, each request with the kind's access token from /api/auth/login/
API_ROUTES = {
    ("/api/auth/login/", "POST"): INVALID,
    ("/api/auth/login/", "OPTIONS"): OPEN,
    ("/api/auth/refresh/", "POST"): INVALID,
    ("/api/auth/refresh/", "OPTIONS"): OPEN,
    ("/api/auth/logout/", "POST"): SIGNED_IN_INVALID,
    ("/api/auth/logout/", "OPTIONS"): SIGNED_IN,
    ("/api/auth/logout-all/", "POST"): SIGNED_IN,
    ("/api/auth/logout-all/", "OPTIONS"): SIGNED_IN,
    ("/api/auth/password-reset/", "POST"): INVALID,
    ("/api/auth/password-reset/", "OPTIONS"): OPEN,
    ("/api/auth/password-reset/confirm/", "POST"): INVALID,
    ("/api/auth/password-reset/confirm/", "OPTIONS"): OPEN,
    ("/api/users/", "GET"): VIEWERS,
    ("/api/users/", "POST"): MANAGERS_CREATED,
    ("/api/users/", "OPTIONS"): VIEWERS,
    ("/api/users/{users.user}/", "GET"): VIEWERS,
    ("/api/users/{users.user}/", "PATCH"): MANAGERS,
    ("/api/users/{users.user}/", "DELETE"): MANAGERS_DELETED,
    ("/api/users/{users.user}/", "OPTIONS"): VIEWERS,
    ("/api/users/me/", "GET"): SIGNED_IN,
    ("/api/users/me/", "PATCH"): SIGNED_IN,
    ("/api/users/me/", "OPTIONS"): SIGNED_IN,
    ("/api/users/me/password/", "POST"): SIGNED_IN_INVALID,
    ("/api/users/me/password/", "OPTIONS"): SIGNED_IN,
}

# -- outside the admin and the API, with the kind's admin session (ADMIN_KINDS) ----------------------
EVERYONE = (200, 200, 200, 200, 200, 200, 200)
SAFE_METHODS_ONLY = (405, 405, 405, 405, 405, 405, 405)
OTHER_PAGES = {
    "/healthz": {"GET": EVERYONE, "POST": SAFE_METHODS_ONLY},
    # the tests run with RabbitMQ unreachable: not ready, and saying so to anyone
    "/readyz": {"GET": (503, 503, 503, 503, 503, 503, 503), "POST": SAFE_METHODS_ONLY},
    # METRICS_TOKEN unset (the default): anyone reads it
    "/metrics": {"GET": EVERYONE, "POST": SAFE_METHODS_ONLY},
    "/api/schema/": {"GET": EVERYONE, "POST": SAFE_METHODS_ONLY},
    "/api/docs/": {"GET": EVERYONE, "POST": SAFE_METHODS_ONLY},
}
# METRICS_TOKEN set (production): no session reads /metrics, only the scraper's bearer token
METRICS_WITH_TOKEN = (401, 401, 401, 401, 401, 401, 401)
