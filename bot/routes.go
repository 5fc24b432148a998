package bot

import (
	"herald/flows"
	"herald/store"
)

// This file is the bot's whole surface: every command, and every callback prefix with
// the role it needs; the dialogs are flows.Dialogs, reached by a command or a screen.
// Adding a screen or a command means adding a line here (see flows/doc.go).

// command is a slash command. Listed commands are registered with setMyCommands (in
// English and Russian) so clients show them in the menu.
type command struct {
	Name        string
	Description string // catalog key
	Listed      bool
	Target      flows.Target
}

type routes struct {
	commands []command
	// roles are keyed by callback prefix: a button "<prefix>:<arg>" runs flows' screen
	// of that name with arg, for an admin whose role reaches the one given here. The
	// prefix "f" is reserved for dialog buttons ("f:<version>:<action>").
	roles map[string]string
}

func newRoutes() routes {
	const (
		viewer = store.RoleViewer
		admin  = store.RoleAdmin
		owner  = store.RoleOwner
	)
	return routes{
		commands: []command{
			{Name: "start", Description: "cmd.start", Listed: false, Target: flows.Target{Action: flows.ActMenu}},
			{Name: "menu", Description: "cmd.menu", Listed: true, Target: flows.Target{Action: flows.ActMenu}},
			{Name: "templates", Description: "cmd.templates", Listed: true, Target: flows.Target{Action: flows.ActTemplates, Arg: "0"}},
			{Name: "newtemplate", Description: "cmd.newtemplate", Listed: true, Target: flows.Target{Flow: flows.FlowTemplateNew}},
			{Name: "batches", Description: "cmd.batches", Listed: true, Target: flows.Target{Action: flows.ActBatches, Arg: "0"}},
			{Name: "newbatch", Description: "cmd.newbatch", Listed: true, Target: flows.Target{Flow: flows.FlowBatchNew}},
			{Name: "channels", Description: "cmd.channels", Listed: true, Target: flows.Target{Action: flows.ActChannels}},
			{Name: "newchannel", Description: "cmd.newchannel", Listed: true, Target: flows.Target{Action: flows.ActChannelNew}},
			{Name: "campaigns", Description: "cmd.campaigns", Listed: true, Target: flows.Target{Action: flows.ActCampaigns, Arg: "0"}},
			{Name: "newcampaign", Description: "cmd.newcampaign", Listed: true, Target: flows.Target{Action: flows.ActCampaignNew}},
			{Name: "admins", Description: "cmd.admins", Listed: true, Target: flows.Target{Action: flows.ActAdmins}},
			{Name: "audit", Description: "cmd.audit", Listed: true, Target: flows.Target{Action: flows.ActAudit}},
			{Name: "webhooks", Description: "cmd.webhooks", Listed: true, Target: flows.Target{Action: flows.ActWebhooks}},
			{Name: "apikeys", Description: "cmd.apikeys", Listed: true, Target: flows.Target{Action: flows.ActAPIKeys}},
			{Name: "help", Description: "cmd.help", Listed: true, Target: flows.Target{Action: flows.ActHelp}},
			{Name: "settings", Description: "cmd.settings", Listed: true, Target: flows.Target{Action: flows.ActSettings}},
			// /cancel is handled by the engine itself, in any state.
			{Name: "cancel", Description: "cmd.cancel", Listed: true},
		},
		// Every screen of flows, with the least role allowed: viewer for looking,
		// admin for changing, owner for admins and the audit log. flows.NewEngine
		// refuses a screen missing here and a prefix flows does not know.
		roles: map[string]string{
			flows.ActMenu:                  viewer,
			flows.ActHelp:                  viewer,
			flows.ActSettings:              viewer, // an admin's own language, any role
			flows.ActSettingsSet:           viewer,
			flows.ActSoon:                  viewer,
			flows.ActTemplates:             viewer,
			flows.ActTemplateView:          viewer,
			flows.ActTemplatePreview:       viewer,
			flows.ActTemplateNew:           admin,
			flows.ActTemplateRename:        admin,
			flows.ActTemplateDuplicate:     admin,
			flows.ActTemplateDelete:        admin, // asks
			flows.ActTemplateDeleteConfirm: admin,
			flows.ActBatches:               viewer,
			flows.ActBatchView:             viewer,
			flows.ActBatchNew:              admin,
			flows.ActBatchRename:           admin,
			flows.ActBatchDelete:           admin, // asks
			flows.ActBatchDeleteConfirm:    admin,
			flows.ActChannels:              viewer,
			flows.ActChannelView:           viewer,
			flows.ActChannelNew:            admin,
			flows.ActChannelRename:         admin,
			flows.ActChannelRate:           admin,
			flows.ActChannelToggle:         admin,
			flows.ActChannelVerify:         admin,
			flows.ActChannelRemove:         admin, // asks
			flows.ActChannelRemoveConfirm:  admin,
			flows.ActChannelMode:           admin, // asks before taking a webhook over
			flows.ActChannelModeTakeOver:   admin,
			flows.ActChannelWelcome:        admin,
			flows.ActChannelWelcomeSet:     admin,
			flows.ActCampaigns:             viewer,
			flows.ActCampaignView:          viewer,
			flows.ActCampaignNew:           admin,
			flows.ActCampaignCardControl:   admin, // cancel and resend ask
			// The delivery engine's progress messages carry queue.ControlCallbackData
			// ("cmp:<action>:<id>"); a test checks the prefixes agree.
			flows.ActCampaignControl:     admin, // cancel and resend ask
			flows.ActCampaignControlSure: admin,
			// Acting on what was sent (issue 17): delete and pin ask first; the edit
			// dialog asks at its end.
			flows.ActCampaignEdit:        admin,
			flows.ActCampaignOperate:     admin,
			flows.ActCampaignOperateSure: admin,
			flows.ActAdmins:              viewer,
			flows.ActAdminAdd:            owner,
			flows.ActAdminRemove:         owner, // asks
			flows.ActAdminRemoveConfirm:  owner,
			flows.ActAudit:               owner,
			// Webhooks send campaign data out of Herald: owners only.
			flows.ActWebhooks:             owner,
			flows.ActWebhookAdd:           owner,
			flows.ActWebhookDelete:        owner, // asks
			flows.ActWebhookDeleteConfirm: owner,
			flows.ActAPIKeys:              owner,
			flows.ActAPIKeyNew:            owner,
			flows.ActAPIKeyRevoke:         owner, // asks
			flows.ActAPIKeyRevokeConfirm:  owner,
		},
	}
}

// commandTargets maps command names to what they do, for the engine.
func (r routes) commandTargets() map[string]flows.Target {
	out := map[string]flows.Target{}
	for _, c := range r.commands {
		if c.Target != (flows.Target{}) {
			out[c.Name] = c.Target
		}
	}
	return out
}
