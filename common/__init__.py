"""Code every app shares and no app owns (HackSoft's `common`): the pieces of the REST API and of
the admin, auditing, batched deletes, log context, client addresses, error pages, model_update.
It imports no app of the project, so that every app may import it."""
