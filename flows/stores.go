package flows

import (
	"context"

	"herald/store"
)

// The store methods each part of flows uses, declared by the consumer. Add yours here
// or next to your flow, with an accessor that returns t.st as it: the conversion from
// *store.Store is checked by the compiler, so a missing method fails the build.

type templateStore interface {
	TemplateCreate(ctx context.Context, t store.Template) (int64, error)
	TemplateGet(ctx context.Context, id int64) (store.Template, error)
	TemplateList(ctx context.Context, limit, offset int) ([]store.Template, int, error)
	TemplateNameTaken(ctx context.Context, name string, exceptID int64) (bool, error)
	TemplateRename(ctx context.Context, id int64, name string) error
	TemplateDelete(ctx context.Context, id int64) error
}

func templates(t *Turn) templateStore { return t.st }

type adminStore interface {
	AdminGet(ctx context.Context, userID int64) (store.Admin, error)
	AdminList(ctx context.Context) ([]store.Admin, error)
	AdminPut(ctx context.Context, a store.Admin) (bool, error)
	AdminDelete(ctx context.Context, userID int64) (store.Admin, error)
}

func admins(t *Turn) adminStore { return t.st }

type auditReader interface {
	AuditLatest(ctx context.Context, limit int) ([]store.AuditEntry, error)
}

func auditLog(t *Turn) auditReader { return t.st }
