from background_task import background


@background(name="scheduler.tests.always_fails")
def always_fails():
    raise RuntimeError("disk full")
