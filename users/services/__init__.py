"""The users app's business operations, one module per topic; callers import from the topic's
module (users.services.users, .tokens, .passwords, .conflicts, .imports, .import_jobs, .resync,
.drift, .dev)."""
