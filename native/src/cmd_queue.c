/* The command queue: any thread pushes, the service thread takes everything at once. */
#include <stdlib.h>

#include "internal.h"

void cv_cmdq_init(struct cv_cmdq *q) {
  pthread_mutex_init(&q->lock, NULL);
  q->head = q->tail = NULL;
}

void cv_cmdq_destroy(struct cv_cmdq *q) {
  struct cv_cmd *c = cv_cmdq_take_all(q);
  while (c) {
    struct cv_cmd *next = c->next;
    cv_cmd_free(c);
    c = next;
  }
  pthread_mutex_destroy(&q->lock);
}

int cv_cmdq_push(struct cv_cmdq *q, struct cv_cmd *cmd) {
  cmd->next = NULL;
  pthread_mutex_lock(&q->lock);
  int was_empty = q->head == NULL;
  if (q->tail)
    q->tail->next = cmd;
  else
    q->head = cmd;
  q->tail = cmd;
  pthread_mutex_unlock(&q->lock);
  return was_empty;
}

struct cv_cmd *cv_cmdq_take_all(struct cv_cmdq *q) {
  pthread_mutex_lock(&q->lock);
  struct cv_cmd *all = q->head;
  q->head = q->tail = NULL;
  pthread_mutex_unlock(&q->lock);
  return all;
}

void cv_cmd_free(struct cv_cmd *cmd) {
  if (!cmd) return;
  free(cmd->text);
  if (cmd->fields) json_decref(cmd->fields);
  free(cmd);
}
