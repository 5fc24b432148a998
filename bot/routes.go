package bot

import (
	"context"

	"herald/flows"
	"herald/store"
)

// This file is the bot's whole surface: every command, every callback prefix and every
// dialog. Adding a screen or a dialog means adding a line here (see flows/doc.go).

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
	// actions are keyed by callback prefix: a button "<prefix>:<arg>" runs the action
	// with arg. The prefix "f" is reserved for dialog buttons ("f:<version>:<action>").
	actions map[string]flows.Action
	flows   []*flows.Definition
}

func newRoutes() routes {
	viewer := func(run func(ctx context.Context, t *flows.Turn, arg string) error) flows.Action {
		return flows.Action{Role: store.RoleViewer, Run: run}
	}
	admin := func(run func(ctx context.Context, t *flows.Turn, arg string) error) flows.Action {
		return flows.Action{Role: store.RoleAdmin, Run: run}
	}
	owner := func(run func(ctx context.Context, t *flows.Turn, arg string) error) flows.Action {
		return flows.Action{Role: store.RoleOwner, Run: run}
	}
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
			{Name: "help", Description: "cmd.help", Listed: true, Target: flows.Target{Action: flows.ActHelp}},
			// /cancel is handled by the engine itself, in any state.
			{Name: "cancel", Description: "cmd.cancel", Listed: true},
		},
		actions: map[string]flows.Action{
			flows.ActMenu:                  viewer(flows.ShowMenu),
			flows.ActHelp:                  viewer(flows.ShowHelp),
			flows.ActSoon:                  viewer(flows.ShowSoon),
			flows.ActTemplates:             viewer(flows.ShowTemplates),
			flows.ActTemplateView:          viewer(flows.ShowTemplate),
			flows.ActTemplatePreview:       viewer(flows.PreviewTemplate),
			flows.ActTemplateNew:           admin(flows.StartTemplateNew),
			flows.ActTemplateRename:        admin(flows.StartTemplateRename),
			flows.ActTemplateDuplicate:     admin(flows.DuplicateTemplate),
			flows.ActTemplateDelete:        admin(flows.AskDeleteTemplate),
			flows.ActTemplateDeleteConfirm: admin(flows.DeleteTemplate),
			flows.ActBatches:               viewer(flows.ShowBatches),
			flows.ActBatchView:             viewer(flows.ShowBatch),
			flows.ActBatchNew:              admin(flows.StartBatchNew),
			flows.ActBatchRename:           admin(flows.StartBatchRename),
			flows.ActBatchDelete:           admin(flows.AskDeleteBatch),
			flows.ActBatchDeleteConfirm:    admin(flows.DeleteBatch),
			flows.ActChannels:              viewer(flows.ShowChannels),
			flows.ActChannelView:           viewer(flows.ShowChannel),
			flows.ActChannelNew:            admin(flows.StartChannelAdd),
			flows.ActChannelRename:         admin(flows.StartChannelRename),
			flows.ActChannelRate:           admin(flows.StartChannelRate),
			flows.ActChannelToggle:         admin(flows.ToggleChannel),
			flows.ActChannelVerify:         admin(flows.VerifyChannel),
			flows.ActChannelRemove:         admin(flows.AskRemoveChannel),
			flows.ActChannelRemoveConfirm:  admin(flows.RemoveChannel),
			flows.ActCampaigns:             viewer(flows.ShowCampaigns),
			flows.ActCampaignView:          viewer(flows.ShowCampaign),
			flows.ActCampaignNew:           admin(flows.StartCampaignNew),
			flows.ActCampaignCardControl:   admin(flows.ControlCampaignCard),
			// The delivery engine's progress messages carry queue.ControlCallbackData
			// ("cmp:<action>:<id>"); a test checks the prefixes agree.
			flows.ActCampaignControl:    admin(flows.ControlCampaign),
			flows.ActAdmins:             viewer(flows.ShowAdmins),
			flows.ActAdminAdd:           owner(flows.StartAdminAdd),
			flows.ActAdminRemove:        owner(flows.AskRemoveAdmin),
			flows.ActAdminRemoveConfirm: owner(flows.RemoveAdmin),
			flows.ActAudit:              owner(flows.ShowAudit),
		},
		flows: []*flows.Definition{
			flows.TemplateNew(),
			flows.TemplateRename(),
			flows.AdminAdd(),
			flows.BatchNew(),
			flows.BatchRename(),
			flows.ChannelAdd(),
			flows.ChannelRename(),
			flows.ChannelRate(),
			flows.CampaignNew(),
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
