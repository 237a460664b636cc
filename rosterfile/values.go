package rosterfile

import (
	"errors"

	"github.com/bieuquyet/bieuquyet"
)

// The words the secretariat may write in the kind, role and delegate columns, each
// folded (NFC, lower case). Vietnamese words are accepted beside the English ones,
// since the sheet is kept by people who write Vietnamese.
var (
	kindWords = words(map[string]bieuquyet.GroupKind{
		"all_delegates":      bieuquyet.KindAllDelegates,
		"standing_committee": bieuquyet.KindStandingCommittee,
		"committee":          bieuquyet.KindCommittee,
		"delegate_group":     bieuquyet.KindDelegateGroup,
		"Đại biểu":           bieuquyet.KindAllDelegates,
		"Thường trực":        bieuquyet.KindStandingCommittee,
		"Ban":                bieuquyet.KindCommittee,
		"Tổ":                 bieuquyet.KindDelegateGroup,
	})
	roleWords = words(map[string]bieuquyet.Role{
		"member":     bieuquyet.RoleMember,
		"staff":      bieuquyet.RoleStaff,
		"thành viên": bieuquyet.RoleMember,
		"thư ký":     bieuquyet.RoleStaff,
		"công chức":  bieuquyet.RoleStaff,
		"nhân viên":  bieuquyet.RoleStaff,
		// The leader is named on the group row, not here; the words are accepted so
		// that RosterFile.Validate can say so, rather than "unknown role".
		"leader":      bieuquyet.RoleLeader,
		"trưởng nhóm": bieuquyet.RoleLeader,
	})
	delegateWords = words(map[string]bool{
		"yes": true, "true": true, "1": true, "x": true, "có": true,
		"no": false, "false": false, "0": false, "không": false,
	})
)

func words[T any](m map[string]T) map[string]T {
	out := make(map[string]T, len(m))
	for k, v := range m {
		out[fold(k)] = v
	}
	return out
}

// kind reads a group row's kind; on a problem it reports it and returns "".
func (r row) kind() bieuquyet.GroupKind {
	s := r.get(colKind)
	if s == "" {
		r.Bad(colKind, "is required; use one of %s", kindList)
		return ""
	}
	k, ok := kindWords[fold(s)]
	if !ok {
		r.Bad(colKind, "%q is not a group kind; use one of %s", s, kindList)
	}
	return k
}

const kindList = "all_delegates (Đại biểu), standing_committee (Thường trực), committee (Ban), delegate_group (Tổ)"

// role reads a member row's role; on a problem it reports it and returns "".
func (r row) role() bieuquyet.Role {
	s := r.get(colRole)
	if s == "" {
		r.Bad(colRole, "is required; use %s", roleList)
		return ""
	}
	k, ok := roleWords[fold(s)]
	if !ok {
		r.Bad(colRole, "%q is not a role; use %s", s, roleList)
	}
	return k
}

const roleList = "member (thành viên) or staff (thư ký, công chức, nhân viên)"

// delegate reads a person row's delegate cell, empty meaning no; on a problem it
// reports it and returns false.
func (r row) delegate() bool {
	s := r.get(colDelegate)
	if s == "" {
		return false
	}
	d, ok := delegateWords[fold(s)]
	if !ok {
		r.Bad(colDelegate, "%q is not yes or no; use yes, no, true, false, 1, 0, x (yes), có or không, or leave it empty for no", s)
	}
	return d
}

// signingIdentity reads a person row's signing identity ("CCCD:079203000101"), empty
// meaning none; on a problem it reports it and returns the zero identity.
func (r row) signingIdentity() bieuquyet.SigningIdentity {
	id, err := bieuquyet.ParseSigningIdentity(colSigningIdentity, r.get(colSigningIdentity))
	if err != nil {
		var e *bieuquyet.Error
		if errors.As(err, &e) && len(e.Violations) == 1 {
			r.Bad(colSigningIdentity, "%s", e.Violations[0].Description)
		} else {
			r.Bad(colSigningIdentity, "%v", err)
		}
	}
	return id
}
