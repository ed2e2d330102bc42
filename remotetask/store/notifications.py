"""The step of the completion calls (``IJobStore.recordNotification``)
that the SQL stores share: their queries differ, the step does not."""


def recordCall(connection, queries, jobid, token, due, event, keep):
    """Record how job ``jobid``'s completion call went, with its
    ``event``: made (``due`` None: the call is forgotten) or to be made
    again at ``due``; only while the claim ``token`` holds (another server
    may have taken the call over after its lease). Whether it held."""
    if due is None:
        current = connection.execute(queries['notification_done'],
                                     dict(job=jobid, token=token))
    else:
        current = connection.execute(queries['notification_again'],
                                     dict(job=jobid, token=token, due=due))
    if current.rowcount != 1:
        return False
    connection.execute(queries['add_event'],
                       dict(id=jobid, event=event, keep=keep))
    return True
